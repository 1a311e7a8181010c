package signing

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
)

// jwksDoc is the JWKS marshalled for one set of published keys.
type jwksDoc struct {
	kids string // the published kids, in order, joined by spaces
	body []byte
}

// JWKSJSON returns the JWKS as JSON. The document is encoded once per set
// of published keys (a key's public half never changes under its kid) and
// shared by every request until a key is published or expires. See
// docs/performance.md, "Precomputed documents".
func (ks *KeySet) JWKSJSON(ctx context.Context) ([]byte, error) {
	if err := ks.ensureFresh(ctx); err != nil {
		return nil, err
	}
	pub := ks.published()
	var b strings.Builder
	for _, k := range pub {
		b.WriteString(k.kid)
		b.WriteByte(' ')
	}
	kids := b.String()
	if d := ks.jwks.Load(); d != nil && d.kids == kids {
		return d.body, nil
	}
	set, err := encodeJWKS(pub)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(set)
	if err != nil {
		return nil, err
	}
	ks.jwks.Store(&jwksDoc{kids: kids, body: body})
	return body, nil
}

// jwksCache is what KeySet keeps of JWKSJSON's last document.
type jwksCache = atomic.Pointer[jwksDoc]
