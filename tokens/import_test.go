package tokens

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
)

func parseLines(t *testing.T, lines ...string) []ImportRecord {
	t.Helper()
	out := make([]ImportRecord, len(lines))
	for i, l := range lines {
		r, err := ParseImportLine([]byte(l))
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		out[i] = r
	}
	return out
}

// TestImport: a Review Board rbp_ token (checksum by Djblets' algorithm)
// and a legacy 40-hex token authenticate with their original values, the
// legacy one as deprecated; bad records are refused with a reason; a dry
// run and a strict run with a refusal store nothing; a second import skips.
func TestImport(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, Options{AcceptedPrefixes: []string{"rbp"}})
		alice := e.user(t, "alice", false)
		rbp := rbpToken("Ab9")
		const legacy = "ead9190eadc2f8ccc051f813be28ea1f24ba3810" // Djblets' test vector
		good := []string{
			`{"user":"alice","token":"` + rbp + `","token_generator_id":"vendor_checksum","note":"RB CI","policy":"{\"resources\":{\"*\":{\"allow\":[\"GET\"],\"block\":[\"*\"]}}}","extra_data":{"client_name":"rbt"},"time_added":"2023-01-02T03:04:05Z","last_updated":"2023-02-01T00:00:00Z","last_used":null,"expires":null,"valid":true,"invalid_date":null,"invalid_reason":""}`,
			`{"user":"alice","token":"` + legacy + `","token_generator_id":"legacy_sha1","note":null,"policy":null,"extra_data":null,"time_added":"2015-06-01T00:00:00+02:00"}`,
		}
		bad := []struct{ line, reason string }{
			{`{"user":"alice","token":"` + rbp[:254] + `x"}`, "token: not a token this server accepts"},
			{`{"user":"alice","token":"` + rbpToken("Zz1") + `","policy":{"resources":{"*":{}}}}`, `policy: The "resources.*" section must have "allow" and/or "block" rules. (at /resources/*)`},
			{`{"user":"nobody","token":"` + rbpToken("Q") + `"}`, `user: "nobody" does not exist`},
			{`{"user":"alice","token":"` + rbpToken("W") + `","token_generator_id":"legacy_sha1"}`, "does not match the token"},
			{`{"user":"alice","token":"` + rbpToken("V") + `","invalid_reason":"x"}`, `only allowed with "valid": false`},
		}
		recs := parseLines(t, good...)
		for _, b := range bad {
			recs = append(recs, parseLines(t, b.line)...)
		}

		check := func(out []ImportOutcome, imported ImportStatus) {
			t.Helper()
			for i := range good {
				if out[i].Status != imported {
					t.Errorf("record %d: %+v, want %s", i+1, out[i], imported)
				}
			}
			for i, b := range bad {
				o := out[len(good)+i]
				if o.Status != ImportRefused || !strings.Contains(o.Reason, b.reason) {
					t.Errorf("record %d: %s %q, want refused %q", len(good)+i+1, o.Status, o.Reason, b.reason)
				}
				if strings.Contains(o.Reason, rbp[10:]) {
					t.Errorf("record %d: the reason contains the token", len(good)+i+1)
				}
			}
		}
		stored := func() int {
			toks, err := e.m.List(ctx, alice.ID)
			if err != nil {
				t.Fatal(err)
			}
			return len(toks)
		}

		for _, opts := range []ImportOptions{{DryRun: true}, {Strict: true}} {
			out, err := e.m.Import(ctx, recs, opts)
			if err != nil {
				t.Fatal(err)
			}
			check(out, ImportImported)
			if n := stored(); n != 0 || e.rec.count(EventImported) != 0 {
				t.Fatalf("%+v stored %d tokens, %d events", opts, n, e.rec.count(EventImported))
			}
			if _, err := e.m.Authenticate(ctx, rbp); !errors.Is(err, ErrTokenNotFound) {
				t.Fatalf("%+v: rbp token authenticates: %v", opts, err)
			}
		}

		out, err := e.m.Import(ctx, recs, ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		check(out, ImportImported)
		if n := stored(); n != 2 {
			t.Fatalf("%d tokens stored, want 2", n)
		}
		a, err := e.m.Authenticate(ctx, rbp)
		if err != nil || a.Deprecated || a.Token.Note != "RB CI" || a.Token.Prefix != rbp[:8] ||
			!a.Token.TimeAdded.Equal(mustTime("2023-01-02T03:04:05Z")) || string(a.Token.ExtraData) != `{"client_name":"rbt"}` {
			t.Fatalf("Authenticate(rbp) = %+v, %v", a, err)
		}
		if a.Policy.Decide("session", "PUT", "").Allowed || !a.Policy.Decide("session", "GET", "").Allowed {
			t.Error("imported policy not in force")
		}
		l, err := e.m.Authenticate(ctx, legacy)
		if err != nil || !l.Deprecated || l.Token.GeneratorID != LegacySHA1ID || string(l.Token.Policy) != "{}" {
			t.Fatalf("Authenticate(legacy) = %+v, %v", l, err)
		}
		if !l.Token.TimeAdded.Equal(mustTime("2015-05-31T22:00:00Z")) {
			t.Errorf("legacy time_added = %v", l.Token.TimeAdded)
		}
		if n := len(e.audit(t, AuditFilter{Kind: string(EventImported)})); n != 2 {
			t.Errorf("%d token.imported audit_events rows, want 2", n)
		}
		if n := e.rec.count(EventImported); n != 2 {
			t.Errorf("%d token.imported events delivered to observers, want 2", n)
		}

		// Importing again skips what is stored; a duplicate within one file too.
		out, err = e.m.Import(ctx, parseLines(t, good[0], good[0]), ImportOptions{})
		if err != nil || out[0].Status != ImportSkipped || out[1].Status != ImportSkipped {
			t.Fatalf("re-import = %+v, %v", out, err)
		}
	})
}

// TestImportInvalidRecord: an imported invalid token keeps Djblets' date
// and reason and is refused with them.
func TestImportInvalidRecord(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, Options{AcceptedPrefixes: []string{"rbp"}})
		e.user(t, "alice", false)
		raw := rbpToken("k")
		out, err := e.m.Import(ctx, parseLines(t, `{"user":"alice","token":"`+raw+`","valid":false,"invalid_date":"2022-08-02T10:45:00Z","invalid_reason":"Revoked."}`), ImportOptions{})
		if err != nil || out[0].Status != ImportImported {
			t.Fatalf("Import = %+v, %v", out, err)
		}
		_, err = e.m.Authenticate(ctx, raw)
		var ae *AuthError
		if !errors.As(err, &ae) || ae.Message != "This API token became invalid on Aug. 2, 2022, 10:45 a.m.: Revoked." {
			t.Fatalf("Authenticate = %v", err)
		}
	})
}

func TestParseImportLine(t *testing.T) {
	for _, c := range []struct{ line, want string }{
		{`not json`, "not a JSON object"},
		{`[1]`, "not a JSON object"},
		{`{"user":1}`, "user: must be a string"},
		{`{"expires":"tomorrow"}`, `expires: "tomorrow" is not an RFC 3339 time`},
		{`{"valid":"yes"}`, "valid: must be true, false or null"},
		{`{"time_added":5}`, "time_added: must be an RFC 3339 time or null"},
	} {
		if _, err := ParseImportLine([]byte(c.line)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseImportLine(%s) = %v, want %q", c.line, err, c.want)
		}
	}
}

func mustTime(s string) time.Time {
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return v
}
