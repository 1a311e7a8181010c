package sessions

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
	"github.com/authgate/authgate/internal/users"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func newClock() *clock               { return &clock{t: time.Now().UTC().Truncate(time.Second)} }
func requestWith(c *http.Cookie) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/account/", nil)
	if c != nil {
		r.AddCookie(c)
	}
	return r
}

func sessionCookie(t *testing.T, w *httptest.ResponseRecorder) *http.Cookie {
	t.Helper()
	for _, c := range w.Result().Cookies() {
		if c.Name == CookieName {
			return c
		}
	}
	t.Fatalf("no %s cookie set; headers %v", CookieName, w.Header())
	return nil
}

func TestManager(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		us := users.NewSQLStore(d)
		alice := newUser(t, us, "alice")
		st := NewSQLStore(d)
		clk := newClock()
		m := NewManager(st, us, Options{IdleTimeout: 30 * time.Minute, AbsoluteTimeout: 2 * time.Hour, Now: clk.Now})

		start := func(t *testing.T, r *http.Request) *http.Cookie {
			t.Helper()
			w := httptest.NewRecorder()
			if r == nil {
				r = requestWith(nil)
			}
			if _, err := m.Start(ctx, w, r, alice); err != nil {
				t.Fatalf("Start: %v", err)
			}
			return sessionCookie(t, w)
		}

		t.Run("cookie attributes and stored digest", func(t *testing.T) {
			// Zero Options.InsecureCookie: the cookie is Secure.
			c := start(t, nil)
			if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
				t.Fatalf("cookie attributes: %+v", c)
			}
			w := httptest.NewRecorder()
			plain := NewManager(st, us, Options{InsecureCookie: true, Now: clk.Now})
			if _, err := plain.Start(ctx, w, requestWith(nil), alice); err != nil {
				t.Fatal(err)
			}
			if c := sessionCookie(t, w); c.Secure || !c.HttpOnly {
				t.Fatalf("InsecureCookie: cookie attributes %+v", c)
			}
			if len(c.Value) != 43 {
				t.Fatalf("session ID %q: want 43 base64url chars (256 bits)", c.Value)
			}
			var n int
			if err := d.GetContext(ctx, &n, d.Rebind(`SELECT COUNT(*) FROM sessions WHERE id_digest = ?`), c.Value); err != nil || n != 0 {
				t.Fatalf("raw session ID stored in the database (n=%d, err=%v)", n, err)
			}
			if err := d.GetContext(ctx, &n, d.Rebind(`SELECT COUNT(*) FROM sessions WHERE id_digest = ?`), Digest(c.Value)); err != nil || n != 1 {
				t.Fatalf("digest row: n=%d, err=%v", n, err)
			}
		})

		t.Run("load and validate", func(t *testing.T) {
			c := start(t, nil)
			cur, err := m.Load(requestWith(c))
			if err != nil {
				t.Fatal(err)
			}
			if cur.User.ID != alice.ID || cur.CSRFToken() == "" {
				t.Fatalf("Load = %+v", cur)
			}
			u, csrf, ok, err := m.ValidateSession(requestWith(c))
			if err != nil || !ok || u.Username != "alice" || csrf != cur.CSRFToken() {
				t.Fatalf("ValidateSession = %v %q %v %v", u.Username, csrf, ok, err)
			}
		})

		t.Run("bad cookies", func(t *testing.T) {
			cases := []struct {
				name   string
				cookie *http.Cookie
				wantOK bool
				want   error
			}{
				{"no cookie", nil, false, nil},
				{"empty", &http.Cookie{Name: CookieName, Value: ""}, false, nil},
				{"malformed", &http.Cookie{Name: CookieName, Value: "not-a-session"}, false, ErrInvalid},
				{"unknown", &http.Cookie{Name: CookieName, Value: strings.Repeat("A", 43)}, false, ErrInvalid},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					_, csrf, ok, err := m.ValidateSession(requestWith(tc.cookie))
					if ok != tc.wantOK || csrf != "" {
						t.Fatalf("ok=%v csrf=%q", ok, csrf)
					}
					if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
						t.Fatalf("err = %v, want %v", err, tc.want)
					}
				})
			}
		})

		t.Run("idle timeout", func(t *testing.T) {
			c := start(t, nil)
			clk.Add(29 * time.Minute)
			if _, err := m.Load(requestWith(c)); err != nil {
				t.Fatalf("within idle timeout: %v", err)
			}
			clk.Add(30 * time.Minute) // 30 min after the touch above
			if _, err := m.Load(requestWith(c)); !errors.Is(err, ErrExpired) {
				t.Fatalf("after idle timeout: want ErrExpired, got %v", err)
			}
			if _, err := st.Get(ctx, Digest(c.Value)); !errors.Is(err, ErrNotFound) {
				t.Fatalf("expired session not deleted: %v", err)
			}
		})

		t.Run("absolute timeout despite activity", func(t *testing.T) {
			c := start(t, nil)
			for range 7 { // 7 × 20 min = 140 min > 2 h, each within the idle timeout
				clk.Add(20 * time.Minute)
				_, err := m.Load(requestWith(c))
				if errors.Is(err, ErrExpired) {
					return
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			t.Fatal("session outlived its absolute timeout")
		})

		t.Run("touch is throttled", func(t *testing.T) {
			c := start(t, nil)
			before, _ := st.Get(ctx, Digest(c.Value))
			clk.Add(30 * time.Second) // below the 1-minute touch interval
			if _, err := m.Load(requestWith(c)); err != nil {
				t.Fatal(err)
			}
			after, _ := st.Get(ctx, Digest(c.Value))
			if !after.LastSeen.Equal(before.LastSeen) {
				t.Fatalf("last_seen written within the touch interval")
			}
			clk.Add(time.Minute)
			if _, err := m.Load(requestWith(c)); err != nil {
				t.Fatal(err)
			}
			after, _ = st.Get(ctx, Digest(c.Value))
			if !after.LastSeen.After(before.LastSeen) {
				t.Fatalf("last_seen not written after the touch interval")
			}
		})

		t.Run("deactivated user invalidates the session", func(t *testing.T) {
			bob := newUser(t, us, "bob")
			w := httptest.NewRecorder()
			if _, err := m.Start(ctx, w, requestWith(nil), bob); err != nil {
				t.Fatal(err)
			}
			c := sessionCookie(t, w)
			if err := us.SetActive(ctx, bob.ID, false); err != nil {
				t.Fatal(err)
			}
			_, _, ok, err := m.ValidateSession(requestWith(c))
			if ok || !errors.Is(err, ErrUserInactive) {
				t.Fatalf("ok=%v err=%v; want ErrUserInactive", ok, err)
			}
			if err := us.SetActive(ctx, bob.ID, true); err != nil {
				t.Fatal(err)
			}
			if _, err := m.Load(requestWith(c)); err == nil {
				t.Fatal("session revived after reactivation; it must stay ended")
			}
			bob.IsActive = false
			if _, err := m.Start(ctx, httptest.NewRecorder(), requestWith(nil), bob); !errors.Is(err, ErrUserInactive) {
				t.Fatalf("Start for inactive user: %v", err)
			}
		})

		t.Run("login replaces a planted session (fixation)", func(t *testing.T) {
			planted := start(t, nil)
			fresh := start(t, requestWith(planted))
			if fresh.Value == planted.Value {
				t.Fatal("session ID reused across login")
			}
			if _, err := m.Load(requestWith(planted)); !errors.Is(err, ErrInvalid) {
				t.Fatalf("old session still valid: %v", err)
			}
		})

		t.Run("end", func(t *testing.T) {
			c := start(t, nil)
			w := httptest.NewRecorder()
			if err := m.End(ctx, w, requestWith(c)); err != nil {
				t.Fatal(err)
			}
			if cleared := sessionCookie(t, w); cleared.Value != "" || cleared.MaxAge >= 0 {
				t.Fatalf("cookie not cleared: %+v", cleared)
			}
			if _, err := m.Load(requestWith(c)); !errors.Is(err, ErrInvalid) {
				t.Fatalf("after End: %v", err)
			}
		})

		t.Run("end user and cleanup", func(t *testing.T) {
			a, b := start(t, nil), start(t, nil)
			if n, err := m.EndUser(ctx, alice.ID); err != nil || n < 2 {
				t.Fatalf("EndUser = %d, %v", n, err)
			}
			for _, c := range []*http.Cookie{a, b} {
				if _, err := m.Load(requestWith(c)); err == nil {
					t.Fatal("session survived EndUser")
				}
			}
			start(t, nil)
			clk.Add(3 * time.Hour)
			if n, err := m.Cleanup(ctx); err != nil || n != 1 {
				t.Fatalf("Cleanup = %d, %v; want 1", n, err)
			}
		})
	})
}

func TestValidCSRF(t *testing.T) {
	cases := []struct {
		name          string
		expected, got string
		want          bool
	}{
		{"equal", "abc", "abc", true},
		{"different", "abc", "abd", false},
		{"prefix", "abc", "ab", false},
		{"both empty", "", "", false},
		{"empty submitted", "abc", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ValidCSRF(tc.expected, tc.got); got != tc.want {
				t.Fatalf("ValidCSRF(%q, %q) = %v", tc.expected, tc.got, got)
			}
		})
	}
}
