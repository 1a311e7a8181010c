package oauthstore

import (
	"context"
	"encoding/base64"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-oauth2/oauth2/v4/models"
	"github.com/jmoiron/sqlx"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
)

// BenchmarkAccessRowWrite measures what the rejected design of
// docs/performance.md, "Issuance" would pay per client_credentials token:
// one access-token row written in its own transaction (the old issuance)
// against rows written 64 to a transaction by one writer (the batching
// alternative's best case: a full batch, no queueing). Row-less issuance
// pays neither.
func BenchmarkAccessRowWrite(b *testing.B) {
	for _, dbc := range []struct {
		name string
		open func(testing.TB) *db.DB
	}{{"sqlite", dbtest.Open}, {"postgres", dbtest.OpenPostgres}} {
		b.Run(dbc.name, func(b *testing.B) {
			d := dbc.open(b)
			ctx := context.Background()
			s := NewTokenStore(d)
			if _, err := d.ExecContext(ctx, `INSERT INTO oauth_clients (client_id, name, scopes, grant_types, created_at, updated_at)
				VALUES ('agci_bench', 'bench', '[]', '["client_credentials"]', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)`); err != nil {
				b.Fatal(err)
			}
			var seq atomic.Int64
			issue := func() Issue {
				n := strconv.FormatInt(seq.Add(1), 10)
				ti := models.NewToken()
				ti.ClientID, ti.Scope = "agci_bench", "a:read"
				ti.Access = "eyJhbGciOiJFZERTQSJ9." + base64.RawURLEncoding.EncodeToString([]byte(`{"jti":"j`+n+`"}`)) + ".sig"
				ti.AccessCreateAt, ti.AccessExpiresIn = time.Now(), time.Hour
				ti.Extension.Set(ExtGrantID, "g"+n)
				return Issue{Token: ti}
			}
			b.Run("one-per-transaction", func(b *testing.B) {
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := s.insertInfo(ctx, d, issue()); err != nil {
							b.Fatal(err)
						}
					}
				})
			})
			b.Run("batch-64", func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; i < b.N; i += 64 {
					err := d.InTx(ctx, func(tx *sqlx.Tx) error {
						for j := i; j < i+64 && j < b.N; j++ {
							if err := s.insertInfo(ctx, tx, issue()); err != nil {
								return err
							}
						}
						return nil
					})
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
