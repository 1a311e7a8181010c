package audit_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/authgate/authgate/internal/audit"
	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
)

func ptr(v int64) *int64 { return &v }

func ids(evs []audit.Event) []int64 {
	out := []int64{}
	for _, e := range evs {
		out = append(out, e.ID)
	}
	return out
}

// TestConformance runs the audit log's contract on SQLite and PostgreSQL.
func TestConformance(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		t0 := time.Date(2026, 3, 4, 5, 6, 7, 123456789, time.UTC)
		add := func(t *testing.T, e *audit.Event) {
			t.Helper()
			if err := audit.Append(ctx, d, e); err != nil {
				t.Fatalf("Append %s: %v", e.Kind, err)
			}
			if e.ID == 0 {
				t.Fatalf("Append %s did not set the ID", e.Kind)
			}
		}

		e1 := &audit.Event{At: t0, Kind: "c.a", ActorUserID: ptr(42), SubjectType: "thing", SubjectID: "1", Data: json.RawMessage(`{"k":"v"}`)}
		e2 := &audit.Event{At: t0.Add(time.Second), Kind: "c.b", SubjectType: "thing", SubjectID: "2"}
		e3 := &audit.Event{At: t0.Add(2 * time.Second), Kind: "c.a", SubjectType: "thing", SubjectID: "2"}
		e4 := &audit.Event{At: t0.Add(3 * time.Second), Kind: "c.a", SubjectType: "other", SubjectID: "2"}
		for _, e := range []*audit.Event{e1, e2, e3, e4} {
			add(t, e)
		}

		t.Run("round trip", func(t *testing.T) {
			all, err := audit.List(ctx, d, audit.Filter{})
			if err != nil {
				t.Fatal(err)
			}
			if len(all) != 4 {
				t.Fatalf("List = %+v, want 4 events", all)
			}
			got := all[0]
			if got.ID != e1.ID || got.Kind != "c.a" || got.SubjectType != "thing" || got.SubjectID != "1" ||
				got.ActorUserID == nil || *got.ActorUserID != 42 || string(got.Data) != `{"k":"v"}` {
				t.Errorf("first event = %+v", got)
			}
			// Stored in UTC to the microsecond (both dialects keep that much).
			if want := t0.Truncate(time.Microsecond); !got.At.Equal(want) || got.At.Location() != time.UTC {
				t.Errorf("At = %v, want %v UTC", got.At, want)
			}
			if all[1].ActorUserID != nil || string(all[1].Data) != `{}` {
				t.Errorf("event without actor and data = %+v", all[1])
			}
		})

		t.Run("filter and order", func(t *testing.T) {
			cases := []struct {
				name string
				f    audit.Filter
				want []int64
			}{
				{"all, oldest first", audit.Filter{}, []int64{e1.ID, e2.ID, e3.ID, e4.ID}},
				{"newest first", audit.Filter{NewestFirst: true}, []int64{e4.ID, e3.ID, e2.ID, e1.ID}},
				{"kind", audit.Filter{Kind: "c.a"}, []int64{e1.ID, e3.ID, e4.ID}},
				{"subject type", audit.Filter{SubjectType: "thing"}, []int64{e1.ID, e2.ID, e3.ID}},
				{"subject id across types", audit.Filter{SubjectID: "2"}, []int64{e2.ID, e3.ID, e4.ID}},
				{"subject", audit.Filter{SubjectType: "thing", SubjectID: "2"}, []int64{e2.ID, e3.ID}},
				{"kind and subject", audit.Filter{Kind: "c.a", SubjectType: "thing", SubjectID: "2"}, []int64{e3.ID}},
				{"after", audit.Filter{AfterID: e2.ID}, []int64{e3.ID, e4.ID}},
				{"before", audit.Filter{BeforeID: e3.ID}, []int64{e1.ID, e2.ID}},
				{"limit", audit.Filter{Limit: 2}, []int64{e1.ID, e2.ID}},
				{"newest first, limit", audit.Filter{NewestFirst: true, Limit: 2}, []int64{e4.ID, e3.ID}},
				{"newest first page 2", audit.Filter{NewestFirst: true, BeforeID: e3.ID, Limit: 2}, []int64{e2.ID, e1.ID}},
				{"no match", audit.Filter{Kind: "c.none"}, []int64{}},
				{"actor", audit.Filter{ActorUserID: 42}, []int64{e1.ID}},
				{"actor and kind, newest first", audit.Filter{ActorUserID: 42, Kind: "c.a", NewestFirst: true}, []int64{e1.ID}},
				{"another actor", audit.Filter{ActorUserID: 43}, []int64{}},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					got, err := audit.List(ctx, d, tc.f)
					if err != nil {
						t.Fatal(err)
					}
					if fmt.Sprint(ids(got)) != fmt.Sprint(tc.want) {
						t.Errorf("ids %v, want %v", ids(got), tc.want)
					}
				})
			}
		})

		t.Run("inside the caller's transaction", func(t *testing.T) {
			boom := errors.New("boom")
			err := d.InTx(ctx, func(tx *sqlx.Tx) error {
				if err := audit.Append(ctx, tx, &audit.Event{Kind: "tx.rolled_back", SubjectType: "thing", SubjectID: "9"}); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatalf("InTx = %v", err)
			}
			var committed audit.Event
			err = d.InTx(ctx, func(tx *sqlx.Tx) error {
				committed = audit.Event{Kind: "tx.committed", SubjectType: "thing", SubjectID: "9"}
				return audit.Append(ctx, tx, &committed)
			})
			if err != nil {
				t.Fatal(err)
			}
			got, err := audit.List(ctx, d, audit.Filter{SubjectType: "thing", SubjectID: "9"})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].Kind != "tx.committed" || got[0].ID != committed.ID {
				t.Errorf("after a rollback and a commit: %+v", got)
			}
			// A zero At is the time of appending.
			if since := time.Since(got[0].At); since < 0 || since > time.Minute {
				t.Errorf("defaulted At = %v", got[0].At)
			}
		})

		t.Run("invalid events are refused", func(t *testing.T) {
			cases := []struct {
				name string
				e    audit.Event
			}{
				{"no kind", audit.Event{SubjectType: "thing", SubjectID: "1"}},
				{"no subject type", audit.Event{Kind: "c.x", SubjectID: "1"}},
				{"no subject id", audit.Event{Kind: "c.x", SubjectType: "thing"}},
				{"data not JSON", audit.Event{Kind: "c.x", SubjectType: "thing", SubjectID: "1", Data: json.RawMessage(`{`)}},
				{"data an array", audit.Event{Kind: "c.x", SubjectType: "thing", SubjectID: "1", Data: json.RawMessage(`[1]`)}},
				{"data null", audit.Event{Kind: "c.x", SubjectType: "thing", SubjectID: "1", Data: json.RawMessage(`null`)}},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					e := tc.e
					if err := audit.Append(ctx, d, &e); !errors.Is(err, audit.ErrInvalidEvent) || e.ID != 0 {
						t.Errorf("Append = %v (id %d), want ErrInvalidEvent", err, e.ID)
					}
				})
			}
			if n, _ := audit.List(ctx, d, audit.Filter{Kind: "c.x"}); len(n) != 0 {
				t.Errorf("refused events were stored: %+v", n)
			}
		})

		t.Run("append-only", func(t *testing.T) {
			for _, q := range []string{
				`UPDATE audit_events SET kind = 'x'`,
				`UPDATE audit_events SET data = '{}' WHERE id = ` + fmt.Sprint(e1.ID),
				`DELETE FROM audit_events`,
				`DELETE FROM audit_events WHERE id = ` + fmt.Sprint(e2.ID),
			} {
				if _, err := d.ExecContext(ctx, q); err == nil || !strings.Contains(err.Error(), "append-only") {
					t.Errorf("%s: err = %v, want the append-only refusal", q, err)
				}
			}
			all, err := audit.List(ctx, d, audit.Filter{SubjectType: "thing"})
			if err != nil {
				t.Fatal(err)
			}
			if len(all) != 4 || all[0].Kind != "c.a" || string(all[0].Data) != `{"k":"v"}` {
				t.Errorf("log changed by refused statements: %+v", all)
			}
		})
	})
}

func TestActor(t *testing.T) {
	base := context.Background()
	cases := []struct {
		name string
		ctx  context.Context
		want *int64
	}{
		{"none", base, nil},
		{"user 7", audit.WithActor(base, 7), ptr(7)},
		{"zero is no actor", audit.WithActor(base, 0), nil},
		{"negative is no actor", audit.WithActor(base, -3), nil},
		{"innermost wins", audit.WithActor(audit.WithActor(base, 7), 9), ptr(9)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := audit.ActorFrom(tc.ctx)
			switch {
			case (got == nil) != (tc.want == nil):
				t.Fatalf("ActorFrom = %v, want %v", got, tc.want)
			case got != nil && *got != *tc.want:
				t.Fatalf("ActorFrom = %d, want %d", *got, *tc.want)
			}
		})
	}
	// Each call returns its own pointer, so an event cannot change another's actor.
	ctx := audit.WithActor(base, 5)
	a, b := audit.ActorFrom(ctx), audit.ActorFrom(ctx)
	*a = 6
	if *b != 5 {
		t.Fatalf("ActorFrom pointers shared")
	}
}

func TestData(t *testing.T) {
	cases := []struct {
		name string
		in   any
		want string
	}{
		{"struct", struct {
			Name string `json:"name"`
			N    int    `json:"n"`
		}{"x", 2}, `{"name":"x","n":2}`},
		{"map", map[string]any{"a": []string{"b"}}, `{"a":["b"]}`},
		{"unencodable", map[string]any{"f": func() {}}, `{"error":"unencodable audit data: json: unsupported type: func()"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(audit.Data(tc.in)); got != tc.want {
				t.Errorf("Data = %s, want %s", got, tc.want)
			}
		})
	}
}
