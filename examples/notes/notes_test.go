package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// These tests run the handlers behind a stand-in for the access layer: a
// ServeMux that hands every request a fixed caller. What authgate's Guard
// decides is tested end to end in integration/notes_e2e_test.go.

type reply struct {
	Status int
	Raw    string
	Body   struct {
		Stat string `json:"stat"`
		Err  struct {
			Code int    `json:"code"`
			Msg  string `json:"msg"`
			Type string `json:"type"`
		} `json:"err"`
		Fields       map[string][]string `json:"fields"`
		Notes        []note              `json:"notes"`
		Note         note                `json:"note"`
		Comments     []comment           `json:"comments"`
		TotalResults *int                `json:"total_results"`
	}
}

// serve handles one request as who, on the notes in s.
func serve(t *testing.T, s *store, who caller, method, path, contentType, body string) reply {
	t.Helper()
	mux := http.NewServeMux()
	a := &api{notes: s}
	for _, rt := range a.routes() {
		mux.HandleFunc(rt.method+" "+rt.path+"{$}", func(w http.ResponseWriter, r *http.Request) { rt.h(w, r, who) })
	}
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, req)
	out := reply{Status: w.Code, Raw: w.Body.String()}
	if w.Body.Len() > 0 {
		if err := json.Unmarshal(w.Body.Bytes(), &out.Body); err != nil {
			t.Fatalf("%s %s: body %q: %v", method, path, w.Body, err)
		}
		if ct := w.Header().Get("Content-Type"); ct != "application/json" {
			t.Fatalf("Content-Type %q", ct)
		}
	}
	return out
}

const form = "application/x-www-form-urlencoded"

var alice = caller{User: "alice"}

func ids(ns []note) []int64 {
	out := []int64{}
	for _, n := range ns {
		out = append(out, n.ID)
	}
	return out
}

func (r reply) want(t *testing.T, status, code int) {
	t.Helper()
	wantStat := "ok"
	if code != 0 {
		wantStat = "fail"
	}
	if r.Status != status || r.Body.Err.Code != code || (r.Raw != "" && r.Body.Stat != wantStat) {
		t.Fatalf("HTTP %d code %d, want %d/%d: %s", r.Status, r.Body.Err.Code, status, code, r.Raw)
	}
}

func TestIDsAreAssignedInOrderAndNeverReused(t *testing.T) {
	s := newStore()
	for i := int64(1); i <= 3; i++ {
		r := serve(t, s, alice, "POST", "/api/notes/", form, "title=n&text=t")
		r.want(t, 201, 0)
		if r.Body.Note.ID != i || r.Body.Note.Author != "alice" || r.Body.Note.Title != "n" {
			t.Fatalf("note %d: %+v", i, r.Body.Note)
		}
	}
	serve(t, s, alice, "DELETE", "/api/notes/2/", "", "").want(t, 204, 0)
	r := serve(t, s, caller{Client: "agci_x"}, "POST", "/api/notes/", "application/json", `{"title":"four"}`)
	r.want(t, 201, 0)
	if r.Body.Note.ID != 4 || r.Body.Note.Author != "client:agci_x" {
		t.Fatalf("after a delete: %+v", r.Body.Note)
	}
	r = serve(t, s, alice, "GET", "/api/notes/2/", "", "")
	r.want(t, 404, 100)
	if r.Body.Err.Msg != "Object does not exist" || r.Body.Err.Type != "resource-does-not-exist" {
		t.Fatalf("404 envelope: %s", r.Raw)
	}
	r = serve(t, s, alice, "GET", "/api/notes/", "", "")
	r.want(t, 200, 0)
	if got := ids(r.Body.Notes); !slices.Equal(got, []int64{1, 3, 4}) || *r.Body.TotalResults != 3 {
		t.Fatalf("list %v total %d", got, *r.Body.TotalResults)
	}
}

func TestListHidesNotesThePolicyDenies(t *testing.T) {
	s := newStore()
	for range 5 {
		serve(t, s, alice, "POST", "/api/notes/", form, "title=x").want(t, 201, 0)
	}
	blocked := caller{User: "alice", Denied: []string{"2", "4"}}
	r := serve(t, s, blocked, "GET", "/api/notes/", "", "")
	if got := ids(r.Body.Notes); !slices.Equal(got, []int64{1, 3, 5}) || *r.Body.TotalResults != 3 {
		t.Fatalf("filtered list %v total %d", got, *r.Body.TotalResults)
	}
	r = serve(t, s, alice, "GET", "/api/notes/", "", "")
	if got := ids(r.Body.Notes); len(got) != 5 {
		t.Fatalf("unfiltered list %v", got)
	}
	// Empty list: [] and 0, never null.
	r = serve(t, s, caller{Denied: []string{"1", "2", "3", "4", "5"}}, "GET", "/api/notes/", "", "")
	if !strings.Contains(r.Raw, `"notes":[]`) || *r.Body.TotalResults != 0 {
		t.Fatalf("empty list: %s", r.Raw)
	}
}

// A policy names note IDs as strings; only the canonical spelling may
// reach a note, or "04" would slip past a rule for "4".
func TestOnlyCanonicalIDsNameANote(t *testing.T) {
	s := newStore()
	for range 4 {
		serve(t, s, alice, "POST", "/api/notes/", form, "title=x")
	}
	serve(t, s, alice, "GET", "/api/notes/4/", "", "").want(t, 200, 0)
	for _, id := range []string{"04", "+4", "4.0", "0", "-1", "abc", "99999999999999999999", "%204"} {
		serve(t, s, alice, "GET", "/api/notes/"+id+"/", "", "").want(t, 404, 100)
		serve(t, s, alice, "DELETE", "/api/notes/"+id+"/", "", "").want(t, 404, 100)
		serve(t, s, alice, "POST", "/api/notes/"+id+"/comments/", form, "text=x").want(t, 404, 100)
	}
	serve(t, s, alice, "GET", "/api/notes/4/", "", "").want(t, 200, 0)
}

func TestWritesCheckTheirFields(t *testing.T) {
	s := newStore()
	serve(t, s, alice, "POST", "/api/notes/", form, "title=first&text=body").want(t, 201, 0)
	tests := []struct {
		name, method, ctype, body string
		status, code              int
		field                     string
	}{
		{"POST without title", "POST", form, "text=x", 400, 105, "title"},
		{"POST with empty title", "POST", "application/json", `{"title":""}`, 400, 105, "title"},
		{"title too long", "POST", form, "title=" + strings.Repeat("é", maxTitle+1), 400, 105, "title"},
		{"text too long", "PATCH", form, "text=" + strings.Repeat("x", maxText+1), 400, 105, "text"},
		{"title given twice", "POST", form, "title=a&title=b", 400, 105, "title"},
		{"PATCH with nothing", "PATCH", form, "", 400, 105, "title"},
		{"PUT without title", "PUT", form, "text=x", 400, 105, "title"},
		{"JSON that is not an object of strings", "POST", "application/json", `{"title":1}`, 400, 105, ""},
		{"not UTF-8", "POST", form, "title=\xff", 400, 105, ""},
		{"unsupported type", "POST", "text/plain", "title=x", 415, 105, ""},
		{"body over 64 KiB", "POST", form, "title=" + strings.Repeat("x", maxBodySize), 400, 105, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := "/api/notes/"
			if tc.method != "POST" {
				path = "/api/notes/1/"
			}
			r := serve(t, s, alice, tc.method, path, tc.ctype, tc.body)
			r.want(t, tc.status, tc.code)
			if tc.field != "" && len(r.Body.Fields[tc.field]) == 0 {
				t.Fatalf("no message for %s: %s", tc.field, r.Raw)
			}
		})
	}
	r := serve(t, s, alice, "GET", "/api/notes/1/", "", "")
	if r.Body.Note.Title != "first" || r.Body.Note.Text != "body" || len(s.list()) != 1 {
		t.Fatalf("a refused write changed something: %+v (%d notes)", r.Body.Note, len(s.list()))
	}

	// PATCH changes only what it is given; PUT replaces the note.
	r = serve(t, s, alice, "PATCH", "/api/notes/1/", form, "text=new")
	if r.want(t, 200, 0); r.Body.Note.Title != "first" || r.Body.Note.Text != "new" {
		t.Fatalf("PATCH: %+v", r.Body.Note)
	}
	r = serve(t, s, alice, "PUT", "/api/notes/1/", "application/json", `{"title":"second"}`)
	if r.want(t, 200, 0); r.Body.Note.Title != "second" || r.Body.Note.Text != "" {
		t.Fatalf("PUT: %+v", r.Body.Note)
	}
	serve(t, s, alice, "PUT", "/api/notes/9/", form, "title=x").want(t, 404, 100)
}

func TestComments(t *testing.T) {
	s := newStore()
	serve(t, s, alice, "POST", "/api/notes/", form, "title=x").want(t, 201, 0)
	r := serve(t, s, alice, "GET", "/api/notes/1/comments/", "", "")
	if r.want(t, 200, 0); !strings.Contains(r.Raw, `"comments":[]`) {
		t.Fatalf("no comments: %s", r.Raw)
	}
	serve(t, s, alice, "POST", "/api/notes/1/comments/", form, "text=first").want(t, 201, 0)
	serve(t, s, caller{Client: "c"}, "POST", "/api/notes/1/comments/", form, "text=second").want(t, 201, 0)
	serve(t, s, alice, "POST", "/api/notes/1/comments/", form, "").want(t, 400, 105)
	serve(t, s, alice, "POST", "/api/notes/2/comments/", form, "text=x").want(t, 404, 100)
	r = serve(t, s, alice, "GET", "/api/notes/1/comments/", "", "")
	if len(r.Body.Comments) != 2 || r.Body.Comments[0].Text != "first" || r.Body.Comments[1].Author != "client:c" || r.Body.Comments[1].ID != 2 {
		t.Fatalf("comments: %s", r.Raw)
	}
}

func TestParseOptions(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("agcs_secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"NOTES_ISSUER": "http://auth.test/", "NOTES_CLIENT_ID": "agci_env", "NOTES_CLIENT_SECRET_FILE": secret}
	getenv := func(k string) string { return env[k] }

	o, err := parseOptions([]string{"--client-id", "agci_flag"}, getenv)
	if err != nil {
		t.Fatal(err)
	}
	if o.issuer != "http://auth.test" || o.clientID != "agci_flag" || o.clientSecret != "agcs_secret" ||
		o.audience != "http://127.0.0.1:8090" || o.revocationBound != defaultRevocationBound {
		t.Fatalf("options %+v", o)
	}
	if o, err = parseOptions([]string{"--revocation-bound", "0s", "--audience", "https://notes.test"}, getenv); err != nil ||
		o.revocationBound >= 0 || o.audience != "https://notes.test" {
		t.Fatalf("0s bound: %+v %v", o, err)
	}
	for _, args := range [][]string{
		{"--issuer", ""}, {"--issuer", "ftp://x"}, {"--issuer", "auth.test"},
		{"--client-secret-file", filepath.Join(dir, "missing")}, {"--revocation-bound", "-1s"},
		{"--revocation-bound", "soon"}, {"--bogus"}, {"extra"},
	} {
		if _, err := parseOptions(args, getenv); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}

// TestHandlerAnswersInTheEnvelope runs newHandler with the real Guard but
// no credential, so authgate is never asked.
func TestHandlerAnswersInTheEnvelope(t *testing.T) {
	o := options{addr: "127.0.0.1:0", issuer: "http://127.0.0.1:1", clientID: "agci_x", clientSecret: "s",
		audience: "http://notes.test", revocationBound: time.Second, keyRefetch: time.Second}
	h, err := newHandler(o, newStore())
	if err != nil {
		t.Fatal(err)
	}
	get := func(path, authz string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", path, nil)
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	if w := get("/healthz", ""); w.Code != 200 {
		t.Fatalf("/healthz: %d", w.Code)
	}
	w := get("/api/notes/", "")
	if w.Code != 401 || !strings.Contains(w.Body.String(), `"code":103`) ||
		!slices.ContainsFunc(w.Header().Values("WWW-Authenticate"), func(v string) bool { return strings.HasPrefix(v, "Bearer ") }) {
		t.Fatalf("no credential: %d %v %s", w.Code, w.Header(), w.Body)
	}
	if w := get("/api/notes/", "Bearer not-a-jwt"); w.Code != 401 || !strings.Contains(w.Body.String(), `"code":104`) {
		t.Fatalf("junk bearer: %d %s", w.Code, w.Body)
	}
	if w := get("/api/nothing/", ""); w.Code != 404 || !strings.Contains(w.Body.String(), `"code":100`) {
		t.Fatalf("unknown path: %d %s", w.Code, w.Body)
	}
	// Only the exact paths are routes: a longer path names no note.
	if w := get("/api/notes/1/x/", ""); w.Code != 404 || !strings.Contains(w.Body.String(), `"code":100`) {
		t.Fatalf("path below a note: %d %s", w.Code, w.Body)
	}
	for _, tc := range []struct{ method, path, allow string }{
		{"DELETE", "/api/notes/", "GET, POST"},
		{"POST", "/api/notes/1/", "GET, PUT, PATCH, DELETE"},
		{"PUT", "/api/notes/1/comments/", "GET, POST"},
		{"POST", "/healthz", "GET"},
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(tc.method, tc.path, nil))
		if w.Code != 405 || w.Header().Get("Allow") != tc.allow || w.Body.Len() != 0 {
			t.Fatalf("%s %s: %d, Allow %q, body %q", tc.method, tc.path, w.Code, w.Header().Get("Allow"), w.Body)
		}
	}
}

// Without an audience the Guard would take a token minted for any
// resource server; the configuration is refused instead.
func TestProtectNeedsAnAudience(t *testing.T) {
	o := options{issuer: "http://127.0.0.1:1", clientID: "agci_x", clientSecret: "s", revocationBound: time.Second}
	if _, err := protect(o); err == nil || !strings.Contains(err.Error(), "udience") {
		t.Fatalf("no audience: %v", err)
	}
	o.audience = "http://notes.test"
	if _, err := protect(o); err != nil {
		t.Fatal(err)
	}
}
