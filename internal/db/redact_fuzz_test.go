package db_test

import (
	"strings"
	"testing"

	"github.com/authgate/authgate/internal/db"
)

// FuzzRedact puts arbitrary passwords into the DSN forms authgate accepts
// and checks that Redact never returns one of them: parsable or not, the
// password must not reach a log line.
func FuzzRedact(f *testing.F) {
	for _, pw := range []string{"s3cretpass", "pa%sspass", "p@ss/word", "with space", "it's'quoted", "[::1]:pass", "ends\\"} {
		f.Add(pw)
	}
	f.Fuzz(func(t *testing.T, pw string) {
		if len(pw) < 8 || strings.Contains(pw, "xxxxx") || strings.ContainsAny(pw, "/?#\x00") {
			// Short strings occur in the DSN's other parts by chance; '/',
			// '?' and '#' end the authority, so an unencoded one makes the
			// rest of the password the host or path (ambiguous by RFC 3986).
			return
		}
		dsns := []string{
			"postgres://alice:" + pw + "@db.example:5432/authgate?sslmode=disable",
			"postgresql://alice:" + pw + "@[::1]:5432/authgate",
		}
		if !strings.ContainsAny(pw, " '\\\t\n\r\v\f") {
			dsns = append(dsns, "host=db.example user=alice password="+pw+" dbname=authgate")
		}
		for _, dsn := range dsns {
			if strings.Count(dsn, pw) > 1 {
				continue // the password also spells another part of the DSN
			}
			if got := db.Redact(dsn); strings.Contains(got, pw) {
				t.Fatalf("Redact(%q) = %q keeps the password", dsn, got)
			}
		}
	})
}
