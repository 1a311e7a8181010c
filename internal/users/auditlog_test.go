package users_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/authgate/authgate/internal/audit"
	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
	"github.com/authgate/authgate/internal/users"
)

// TestStoreAuditsChanges: creating a user, changing their flags and setting
// their password each append one audit event about the user, with the
// actor of audit.WithActor, in the change's transaction (a change of an
// unknown user records nothing); no event holds the password.
func TestStoreAuditsChanges(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		for _, s := range []*users.SQLStore{users.NewSQLStore(d), users.NewSQLStoreWith(d, users.HashLimits{}, &recordingNotifier{d: d})} {
			checkAudits(t, d, s)
		}
	})
}

func checkAudits(t *testing.T, d *db.DB, s *users.SQLStore) {
	t.Helper()
	const password = "a password nobody may log"
	ctx := audit.WithActor(context.Background(), 77)
	before, err := audit.List(ctx, d, audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	u, err := s.Create(ctx, users.NewUser{Username: "audited" + strconv.Itoa(len(before)), Password: password})
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []func() error{
		func() error { return s.SetActive(ctx, u.ID, false) },
		func() error { return s.SetActive(ctx, u.ID, true) },
		func() error { return s.SetAdmin(ctx, u.ID, true) },
		func() error { return s.SetAdmin(ctx, u.ID, false) },
		func() error { return s.SetPassword(ctx, u.ID, password+" 2") },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetActive(ctx, u.ID+1000, false); !errors.Is(err, users.ErrNotFound) {
		t.Fatalf("SetActive of an unknown user: %v, want ErrNotFound", err)
	}
	evs, err := audit.List(ctx, d, audit.Filter{AfterID: lastID(before)})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{users.AuditCreated, users.AuditDeactivated, users.AuditActivated, users.AuditAdminGranted,
		users.AuditAdminRevoked, users.AuditPasswordSet}
	if len(evs) != len(want) {
		t.Fatalf("%d events, want %d: %+v", len(evs), len(want), evs)
	}
	for i, e := range evs {
		if e.Kind != want[i] || e.SubjectType != users.AuditSubject || e.SubjectID != strconv.FormatInt(u.ID, 10) ||
			e.ActorUserID == nil || *e.ActorUserID != 77 {
			t.Errorf("event %d: %+v, want %s about user %d by 77", i, e, want[i], u.ID)
		}
		if strings.Contains(string(e.Data), "nobody") || strings.Contains(string(e.Data), "argon2") {
			t.Errorf("event %s holds the password or its hash: %s", e.Kind, e.Data)
		}
	}
	if !strings.Contains(string(evs[0].Data), `"username":"`+u.Username+`"`) {
		t.Errorf("user.created data %s lacks the username", evs[0].Data)
	}
}

func lastID(evs []audit.Event) int64 {
	if len(evs) == 0 {
		return 0
	}
	return evs[len(evs)-1].ID
}
