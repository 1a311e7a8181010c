package oauthstore

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-oauth2/oauth2/v4/models"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
	"github.com/authgate/authgate/internal/users"
)

func TestUserCodes(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		c, err := NewUserCode()
		if err != nil {
			t.Fatal(err)
		}
		if n, ok := NormalizeUserCode(FormatUserCode(c)); !ok || n != c {
			t.Fatalf("NormalizeUserCode(%q) = %q, %v", FormatUserCode(c), n, ok)
		}
		if strings.ContainsAny(c, "AEIOUY01") || len(c) != UserCodeLength {
			t.Fatalf("user code %q has a vowel, a look-alike or the wrong length", c)
		}
		seen[c] = true
	}
	if len(seen) < 199 {
		t.Fatalf("only %d distinct codes in 200", len(seen))
	}
	for in, want := range map[string]string{
		"bdwp-hqpk": "BDWPHQPK", "BDWPHQPK": "BDWPHQPK", " bdwp hqpk ": "BDWPHQPK",
		"BDWP-HQP": "", "BDWP-HQPKK": "", "BDWA-HQPK": "", "BDW0-HQPK": "", "BDWP-HQPǨ": "", "": "",
	} {
		got, ok := NormalizeUserCode(in)
		if got != want || ok != (want != "") {
			t.Errorf("NormalizeUserCode(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

type deviceFixture struct {
	t        *testing.T
	d        *db.DB
	s        *TokenStore
	now      atomic.Pointer[time.Time]
	clientID string
	uid      int64
}

func newDeviceFixture(t *testing.T, d *db.DB) *deviceFixture {
	ctx := context.Background()
	f := &deviceFixture{t: t, d: d}
	start := time.Now().UTC()
	f.now.Store(&start)
	u, err := users.NewSQLStore(d).Create(ctx, users.NewUser{Username: "u"})
	if err != nil {
		t.Fatal(err)
	}
	cl, _, err := NewSQLClientStore(d).Create(ctx, ClientSpec{Name: "tv", Public: true, GrantTypes: []string{GrantDeviceCode}})
	if err != nil {
		t.Fatal(err)
	}
	f.clientID, f.uid = cl.ID, u.ID
	f.s = NewTokenStoreWith(d, TokenStoreOptions{Now: func() time.Time { return *f.now.Load() }})
	return f
}

func (f *deviceFixture) advance(d time.Duration) { n := f.now.Load().Add(d); f.now.Store(&n) }

func (f *deviceFixture) create(user string) string {
	f.t.Helper()
	raw, _ := NewOpaque(PrefixCode)
	if err := f.s.CreateDevice(context.Background(), NewDevice{DeviceCode: raw, UserCode: user, ClientID: f.clientID,
		Scope: "a:read", Extension: url.Values{"k": {"v"}}, Interval: 5 * time.Second, TTL: 10 * time.Minute}); err != nil {
		f.t.Fatal(err)
	}
	return raw
}

// issue is a token issuance for row.
func (f *deviceFixture) issue(row *DeviceRow) *Issue {
	access, _ := NewOpaque(PrefixAccessToken)
	ti := models.NewToken()
	ti.Extension = url.Values{ExtGrantID: {"g-" + strconv.FormatInt(row.ID, 10)}}
	ti.ClientID, ti.UserID, ti.Scope = row.ClientID, row.UserIDString(), row.Scope
	ti.Access, ti.AccessCreateAt, ti.AccessExpiresIn = access, time.Now(), time.Hour
	return &Issue{Token: ti}
}

func TestDeviceStore(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newDeviceFixture(t, d)
		raw := f.create("BDWPHQPK")

		// Neither value is stored, only digests.
		var stored string
		if err := d.GetContext(ctx, &stored, `SELECT device_digest || ' ' || user_digest || ' ' || prefix FROM device_codes`); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(stored, raw) || strings.Contains(stored, "BDWPHQPK") || !strings.Contains(stored, Digest(raw)) {
			t.Fatalf("device_codes holds %q", stored)
		}
		// A live user code is not handed out twice.
		if err := f.s.CreateDevice(ctx, NewDevice{DeviceCode: raw + "x", UserCode: "BDWPHQPK", ClientID: f.clientID,
			Interval: 5 * time.Second, TTL: time.Minute}); !errors.Is(err, ErrUserCodeTaken) {
			t.Fatalf("second CreateDevice with a live user code = %v", err)
		}

		row, err := f.s.PendingDevice(ctx, "BDWPHQPK")
		if err != nil || row.ClientID != f.clientID || row.Scope != "a:read" || row.Ext().Get("k") != "v" || row.Interval() != 5*time.Second {
			t.Fatalf("PendingDevice = %+v, %v", row, err)
		}
		if _, err := f.s.PendingDevice(ctx, "BDWPHQPX"); !errors.Is(err, ErrDeviceNotPending) {
			t.Fatalf("PendingDevice(unknown) = %v", err)
		}

		// A poll records its time and interval; another client's poll
		// touches nothing.
		var seen *DeviceRow
		out, err := f.s.PollDevice(ctx, raw, func(r *DeviceRow) (DeviceOutcome, error) {
			seen = r
			return DeviceOutcome{Record: true, Interval: 10 * time.Second, Refusal: errors.New("slow_down")}, nil
		})
		if err != nil || out.Refusal == nil || seen == nil || seen.LastPollAt.Valid {
			t.Fatalf("first poll = %+v, %v (row %+v)", out, err, seen)
		}
		if _, err := f.s.PollDevice(ctx, raw, func(r *DeviceRow) (DeviceOutcome, error) { seen = r; return DeviceOutcome{}, nil }); err != nil {
			t.Fatal(err)
		}
		if !seen.LastPollAt.Valid || seen.Interval() != 10*time.Second || seen.UserActive {
			t.Fatalf("second poll saw %+v", seen)
		}
		if _, err := f.s.PollDevice(ctx, "agac_unknown", func(r *DeviceRow) (DeviceOutcome, error) {
			if r != nil {
				t.Fatalf("unknown code found %+v", r)
			}
			return DeviceOutcome{}, nil
		}); err != nil {
			t.Fatal(err)
		}

		// Approve once; a second decision finds nothing pending.
		if err := f.s.DecideDevice(ctx, "BDWPHQPK", f.uid, true); err != nil {
			t.Fatal(err)
		}
		if err := f.s.DecideDevice(ctx, "BDWPHQPK", f.uid, false); !errors.Is(err, ErrDeviceNotPending) {
			t.Fatalf("second decision = %v", err)
		}
		if _, err := f.s.PendingDevice(ctx, "BDWPHQPK"); !errors.Is(err, ErrDeviceNotPending) {
			t.Fatalf("PendingDevice after approval = %v", err)
		}

		// Concurrent polls of the approved code: exactly one issues. The
		// pool is warmed first, so the polls do not queue behind the
		// opening of connections and really overlap.
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tx, err := d.BeginTxx(ctx, nil)
				if err == nil {
					time.Sleep(100 * time.Millisecond)
					_ = tx.Rollback()
				}
			}()
		}
		wg.Wait()
		var issued atomic.Int32
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				out, err := f.s.PollDevice(ctx, raw, func(r *DeviceRow) (DeviceOutcome, error) {
					// Hold the transaction open so that, without the row
					// lock, every poll would read the code unredeemed.
					time.Sleep(20 * time.Millisecond)
					if r == nil || r.RedeemedAt.Valid || r.Status != "approved" || !r.UserActive || r.UserID.Int64 != f.uid {
						return DeviceOutcome{Refusal: errors.New("invalid_grant")}, nil
					}
					return DeviceOutcome{Issue: f.issue(r)}, nil
				})
				if err != nil {
					t.Error(err)
				}
				if out.Issue != nil {
					issued.Add(1)
				}
			}()
		}
		wg.Wait()
		var tokens int
		if err := d.GetContext(ctx, &tokens, d.Rebind(`SELECT COUNT(*) FROM oauth_tokens WHERE client_id = ? AND kind = 'access'`), f.clientID); err != nil {
			t.Fatal(err)
		}
		if issued.Load() != 1 || tokens != 1 {
			t.Fatalf("%d polls issued, %d access tokens stored; want 1 and 1", issued.Load(), tokens)
		}

		// Deny; expiry; purge; an expired user code may be drawn again.
		raw2 := f.create("CDFGHJKL")
		if err := f.s.DecideDevice(ctx, "CDFGHJKL", f.uid, false); err != nil {
			t.Fatal(err)
		}
		_, _ = f.s.PollDevice(ctx, raw2, func(r *DeviceRow) (DeviceOutcome, error) { seen = r; return DeviceOutcome{}, nil })
		if seen.Status != "denied" {
			t.Fatalf("status after deny = %q", seen.Status)
		}
		f.create("MNPQRSTV")
		f.advance(11 * time.Minute)
		if _, err := f.s.PendingDevice(ctx, "MNPQRSTV"); !errors.Is(err, ErrDeviceNotPending) {
			t.Fatalf("PendingDevice(expired) = %v", err)
		}
		if err := f.s.DecideDevice(ctx, "MNPQRSTV", f.uid, true); !errors.Is(err, ErrDeviceNotPending) {
			t.Fatalf("DecideDevice(expired) = %v", err)
		}
		f.create("MNPQRSTV")
		n, err := f.s.PurgeExpired(ctx, *f.now.Load(), 100)
		if err != nil {
			t.Fatal(err)
		}
		var left int
		if err := d.GetContext(ctx, &left, `SELECT COUNT(*) FROM device_codes`); err != nil {
			t.Fatal(err)
		}
		if n < 2 || left != 1 {
			t.Fatalf("purge deleted %d rows, %d device codes left; want the two expired gone and the new one kept", n, left)
		}
	})
}
