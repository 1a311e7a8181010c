package web_test

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/authgate/authgate/internal/audit"
	"github.com/authgate/authgate/internal/testenv"
)

var (
	auditRowRE   = regexp.MustCompile(`<tr id="event-(\d+)">`)
	auditOlderRE = regexp.MustCompile(`<a href="([^"]+)" rel="next" id="audit-older">`)
)

// auditPages follows the audit page's "Older events" links from path and
// returns the event IDs of each page.
func auditPages(t *testing.T, b *testenv.Browser, path string) [][]int64 {
	t.Helper()
	var pages [][]int64
	for path != "" {
		p := b.Get(path)
		if p.Status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, p.Status, p.Body)
		}
		var ids []int64
		for _, m := range auditRowRE.FindAllStringSubmatch(p.Body, -1) {
			id, _ := strconv.ParseInt(m[1], 10, 64)
			ids = append(ids, id)
		}
		pages = append(pages, ids)
		path = ""
		if m := auditOlderRE.FindStringSubmatch(p.Body); m != nil {
			path = html.UnescapeString(m[1])
		}
		if len(pages) > 20 {
			t.Fatal("the audit page links on forever")
		}
	}
	return pages
}

// checkAuditPaging: the pages hold want (IDs newest first) in order, 50 a
// page, each page continuing the one before without overlap or gap.
func checkAuditPaging(t *testing.T, name string, pages [][]int64, want []int64) {
	t.Helper()
	var got []int64
	for i, p := range pages {
		if i < len(pages)-1 && len(p) != 50 {
			t.Errorf("%s: page %d has %d events, want 50", name, i+1, len(p))
		}
		got = append(got, p...)
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s: pages %v\nwant %v", name, pages, want)
	}
}

// TestAdminAudit: the audit page lists the log newest first, 50 events a
// page; following "Older events" walks the whole log without overlap or
// gap, with and without a filter (kind, subject, actor by username or
// #id), and each page matches audit.List; event data and subjects are
// escaped; bad filter values are explained in place (400); non-admins get
// 403 and visitors the login page.
func TestAdminAudit(t *testing.T) {
	testenv.Each(t, func(t *testing.T, e *testenv.Env) {
		ctx := context.Background()
		add := func(kind string, actor int64, subjectID string, data string) {
			t.Helper()
			ev := &audit.Event{Kind: kind, SubjectType: "thing", SubjectID: subjectID, Data: json.RawMessage(data)}
			if actor != 0 {
				ev.ActorUserID = &actor
			}
			if err := audit.Append(ctx, e.App.DB, ev); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 130 {
			switch {
			case i%3 == 0:
				add("test.a", e.Admin.ID, "s"+strconv.Itoa(i%2), `{"i":`+strconv.Itoa(i)+`}`)
			case i%3 == 1:
				add("test.b", e.User.ID, "s"+strconv.Itoa(i%2), `{}`)
			default:
				add("test.a", 0, "s1", `{}`)
			}
		}
		add("test.a", 4242, `<b>x</b>`, `{"note":"<script>alert(1)</script>"}`)

		admin := adminBrowser(e)
		ids := func(f audit.Filter) []int64 {
			f.NewestFirst = true
			evs, err := audit.List(ctx, e.App.DB, f)
			if err != nil {
				t.Fatal(err)
			}
			out := make([]int64, len(evs))
			for i, ev := range evs {
				out[i] = ev.ID
			}
			return out
		}
		for _, c := range []struct {
			name, query string
			f           audit.Filter
		}{
			{"everything", "", audit.Filter{}},
			{"kind", "?kind=test.a", audit.Filter{Kind: "test.a"}},
			{"kind and actor", "?kind=test.a&actor=" + testenv.AdminUsername, audit.Filter{Kind: "test.a", ActorUserID: e.Admin.ID}},
			{"actor", "?actor=" + testenv.UserUsername, audit.Filter{ActorUserID: e.User.ID}},
			{"subject", "?subject_type=thing&subject_id=s1", audit.Filter{SubjectType: "thing", SubjectID: "s1"}},
			{"deleted actor", "?actor=%234242", audit.Filter{ActorUserID: 4242}},
		} {
			want := ids(c.f)
			if len(want) == 0 {
				t.Fatalf("%s: the fixture has no matching event", c.name)
			}
			checkAuditPaging(t, c.name, auditPages(t, admin, "/admin/audit/"+c.query), want)
		}
		if n := len(ids(audit.Filter{})); n <= 100 {
			t.Fatalf("only %d events: paging is not exercised past page 2", n)
		}

		p := admin.Get("/admin/audit/?subject_id=" + url.QueryEscape("<b>x</b>"))
		if strings.Contains(p.Body, "<script>alert") || strings.Contains(p.Body, "<b>x</b>") ||
			!strings.Contains(p.Body, "&lt;script&gt;") || !strings.Contains(p.Body, "#4242") {
			t.Errorf("event data or subject not escaped, or the deleted actor not shown as #4242: %s", p.Body)
		}
		if !strings.Contains(p.Body, `value="&lt;b&gt;x&lt;/b&gt;"`) {
			t.Error("the filter form does not keep the escaped subject ID")
		}

		for _, c := range []struct{ query, msg string }{
			{"?actor=nobody", `No user is named &#34;nobody&#34;`},
			{"?actor=%23x", "followed by a user ID"},
			{"?before=abc", "before must be an event ID"},
			{"?kind=" + strings.Repeat("k", 201), "At most 200 characters"},
		} {
			p := admin.Get("/admin/audit/" + c.query)
			if p.Status != http.StatusBadRequest || !strings.Contains(p.Body, c.msg) || !strings.Contains(p.Body, `role="alert"`) {
				t.Errorf("GET %s: %d, want 400 with %q in place: %s", c.query, p.Status, c.msg, p.Body)
			}
		}
		if p := admin.Get("/admin/audit/?kind=none.such"); p.Status != http.StatusOK || !strings.Contains(p.Body, "No events match this filter") {
			t.Errorf("empty result: %d", p.Status)
		}

		if p := e.Browser().Get("/admin/audit/?kind=test.a"); p.Status != http.StatusSeeOther ||
			p.Location(t).Query().Get("return_to") != "/admin/audit/?kind=test.a" {
			t.Errorf("signed out: %d %s, want 303 to /login and back", p.Status, p.Header.Get("Location"))
		}
		user := e.Browser()
		user.SignIn(testenv.UserUsername, testenv.UserPassword)
		if p := user.Get("/admin/audit/"); p.Status != http.StatusForbidden {
			t.Errorf("non-admin: %d, want 403", p.Status)
		}
	})
}

// TestAdminPagesLabelled: every visible field of the users, resources and
// audit pages (and of a generated password's page) has a label, and each
// page has the main landmark.
func TestAdminPagesLabelled(t *testing.T) {
	e := testenv.New(t)
	admin := adminBrowser(e)
	pages := map[string]string{}
	for _, p := range []string{"/admin/users/", "/admin/resources/", "/admin/audit/", "/admin/audit/?actor=nobody"} {
		pages[p] = admin.Get(p).Body
	}
	created := adminPost(admin, "/admin/users/", "/admin/users/", url.Values{"username": {"zed"}, "generate": {"1"}})
	if m := shownPasswordRE.FindStringSubmatch(created.Body); m != nil {
		e.Logs.Secret(m[1])
	}
	pages["created"] = created.Body
	for path, body := range pages {
		if !strings.Contains(body, `id="content"`) {
			t.Errorf("%s: no main landmark for the skip link", path)
		}
		if bad := unlabelled(body); len(bad) > 0 {
			t.Errorf("%s: fields without a label: %v", path, bad)
		}
	}
}
