package authserver

import (
	"encoding/json"
	"strings"
	"sync/atomic"
)

// jsonDoc is a JSON document marshalled once per version of the state it
// depends on and served as bytes: the discovery documents change only with
// the scope registry, so a request needs no reflection-driven encoding.
// See docs/performance.md, "Precomputed documents".
type jsonDoc struct {
	cur atomic.Pointer[jsonDocVersion]
}

type jsonDocVersion struct {
	key  string
	body []byte
}

// bytes returns the document for key, marshalling build() when key
// differs from the last one.
func (d *jsonDoc) bytes(key string, build func() any) ([]byte, error) {
	if v := d.cur.Load(); v != nil && v.key == key {
		return v.body, nil
	}
	body, err := json.Marshal(build())
	if err != nil {
		return nil, err
	}
	d.cur.Store(&jsonDocVersion{key: key, body: body})
	return body, nil
}

// docKey is what the discovery documents depend on besides the
// configuration: the supported scope names.
func (s *Server) docKey() string {
	if s.scopes == nil {
		return ""
	}
	return strings.Join(s.scopes.ScopeNames(), " ")
}
