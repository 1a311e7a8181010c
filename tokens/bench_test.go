package tokens

import (
	"testing"
	"time"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
	"github.com/authgate/authgate/internal/users"
)

// BenchmarkValidateFormat measures the I/O-free check that runs before any
// database query (docs/api-tokens.md, "Deliberate differences").
func BenchmarkValidateFormat(b *testing.B) {
	m := mustManager(b, nil, nil, Options{AcceptedPrefixes: []string{"rbp"}})
	valid40, _ := VendorChecksum{}.Create(TokenInfo{TokenType: "agp", Length: 40})
	rbp255, _ := VendorChecksum{}.Create(TokenInfo{TokenType: "rbp", Length: 255})
	valid255, _ := VendorChecksum{}.Create(TokenInfo{TokenType: "agp", Length: 255})
	cases := []struct {
		name, raw string
		want      bool
	}{
		{"valid40", valid40, true},
		{"valid255", valid255, true},
		{"accepted_prefix_rbp255", rbp255, true},
		{"bad_checksum", corruptChecksum(valid40), false},
		{"legacy_sha1", "ead9190eadc2f8ccc051f813be28ea1f24ba3810", true},
		{"garbage", "not-a-token", false},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			if _, ok := m.ValidateFormat(c.raw); ok != c.want {
				b.Fatalf("ValidateFormat(%q) = %v, want %v", c.raw, ok, c.want)
			}
			b.ReportAllocs()
			for b.Loop() {
				m.ValidateFormat(c.raw)
			}
		})
	}
}

// BenchmarkAuthenticate measures Authenticate of a valid token end to end
// (format check, digest lookup with the owner joined, policy compile) on
// each dialect. last_used is written on the warm-up call and then at most
// once a minute, so the loop measures the read path; the _cached variants
// answer it from the authentication cache (a hit: no query).
func BenchmarkAuthenticate(b *testing.B) {
	for _, tc := range []struct {
		name    string
		dialect db.Dialect
		cache   time.Duration // Options.CacheTTL
	}{
		{"sqlite", db.SQLite, 0}, {"postgres", db.Postgres, 0},
		{"sqlite_cached", db.SQLite, 30 * time.Second}, {"postgres_cached", db.Postgres, 30 * time.Second},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var d *db.DB
			if tc.dialect == db.Postgres {
				d = dbtest.OpenPostgres(b)
			} else {
				d = dbtest.Open(b)
			}
			us := users.NewSQLStore(d)
			m := mustManager(b, NewSQLStore(d), us, Options{CacheTTL: tc.cache})
			u, err := us.Create(ctx, users.NewUser{Username: "bench"})
			if err != nil {
				b.Fatal(err)
			}
			_, raw, err := m.Generate(ctx, GenerateParams{User: u,
				Policy: []byte(`{"resources":{"*":{"allow":["GET","HEAD","OPTIONS"],"block":["*"]}}}`)})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := m.Authenticate(ctx, raw); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Authenticate(ctx, raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAuthenticateMalformed: a bad-checksum token is refused without
// touching the database.
func BenchmarkAuthenticateMalformed(b *testing.B) {
	m := mustManager(b, nil, nil, Options{}) // a nil Store would panic if touched
	valid, _ := VendorChecksum{}.Create(TokenInfo{TokenType: "agp", Length: 40})
	bad := corruptChecksum(valid)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Authenticate(ctx, bad); err == nil {
			b.Fatal("accepted")
		}
	}
}
