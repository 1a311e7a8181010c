package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeAS is a minimal RFC 8414 authorization server: metadata and a token
// endpoint whose answer for the n-th call (from 0) is status(n).
type fakeAS struct {
	*httptest.Server
	calls  atomic.Int64
	status func(n int64) int
	delay  time.Duration
	// tokenEndpoint overrides the metadata's token_endpoint.
	tokenEndpoint string
}

func newFakeAS(t *testing.T, status func(n int64) int) *fakeAS {
	t.Helper()
	f := &fakeAS{status: status}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", func(w http.ResponseWriter, r *http.Request) {
		te := f.tokenEndpoint
		if te == "" {
			te = f.URL + "/token"
		}
		_ = json.NewEncoder(w).Encode(Metadata{Issuer: f.URL, TokenEndpoint: te})
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		n := f.calls.Add(1) - 1
		// RFC 6749 §2.3.1: both halves are form-encoded inside Basic.
		id, secret, ok := r.BasicAuth()
		secret, _ = url.QueryUnescape(secret)
		if !ok || id != "cid" || secret != "s%cr:t" {
			t.Errorf("token request without the client's Basic credentials: %q", r.Header.Get("Authorization"))
		}
		if f.delay > 0 {
			time.Sleep(f.delay)
		}
		st := http.StatusOK
		if f.status != nil {
			st = f.status(n)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(st)
		if st == http.StatusOK {
			fmt.Fprint(w, `{"access_token":"at","token_type":"Bearer"}`)
		} else {
			fmt.Fprint(w, `{"error":"invalid_request"}`)
		}
	})
	f.Server = httptest.NewServer(mux)
	t.Cleanup(f.Close)
	return f
}

func tokenRun(t *testing.T, url string, opts Options) (*Result, error) {
	t.Helper()
	tg, err := NewTarget(context.Background(), url, opts.Concurrency, 5*time.Second, false)
	if err != nil {
		t.Fatal(err)
	}
	// The secret has characters RFC 6749 §2.3.1 form-encodes in Basic.
	sc, err := New("token", tg, Credentials{ClientID: "cid", ClientSecret: "s%cr:t"}, false)
	if err != nil {
		t.Fatal(err)
	}
	return Run(context.Background(), sc, opts)
}

func TestRequestsBoundIsExact(t *testing.T) {
	for _, c := range []int{1, 7, 32} {
		f := newFakeAS(t, nil)
		res, err := tokenRun(t, f.URL, Options{Concurrency: c, Requests: 100})
		if err != nil {
			t.Fatal(err)
		}
		if got := f.calls.Load(); got != 100 || res.Requests != 100 || res.OK != 100 || res.Errors != 0 {
			t.Fatalf("concurrency %d: server saw %d token requests, result %d requests (%d ok, %d errors); want exactly 100",
				c, got, res.Requests, res.OK, res.Errors)
		}
		if res.Status["200"] != 100 {
			t.Fatalf("status counts %v", res.Status)
		}
	}
}

func TestDurationStopsTheRun(t *testing.T) {
	f := newFakeAS(t, nil)
	f.delay = 2 * time.Millisecond
	start := time.Now()
	res, err := tokenRun(t, f.URL, Options{Concurrency: 4, Duration: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 300*time.Millisecond || el > 2*time.Second {
		t.Fatalf("a 300ms run took %s", el)
	}
	if res.Requests == 0 || res.Errors != 0 || res.DurationSeconds < 0.3 || res.RequestsPerSecond <= 0 {
		t.Fatalf("result %+v", res)
	}
	// Requests cut off by the deadline are not counted: every counted one
	// reached the server.
	if got := f.calls.Load(); res.Requests > got {
		t.Fatalf("counted %d requests, the server saw %d", res.Requests, got)
	}
	// Whichever bound comes first: 20 requests end this run long before 1 minute.
	res, err = tokenRun(t, f.URL, Options{Concurrency: 4, Duration: time.Minute, Requests: 20})
	if err != nil || res.Requests != 20 || res.DurationSeconds > 10 {
		t.Fatalf("requests bound under a long duration: %+v, %v", res, err)
	}
}

func TestInterruptKeepsThePartialResult(t *testing.T) {
	f := newFakeAS(t, nil)
	f.delay = time.Millisecond
	tg, err := NewTarget(context.Background(), f.URL, 4, 5*time.Second, false)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := New("token", tg, Credentials{ClientID: "cid", ClientSecret: "s%cr:t"}, false)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	res, err := Run(ctx, sc, Options{Concurrency: 4, Requests: MaxRequests})
	if !errors.Is(err, context.DeadlineExceeded) || res == nil || res.Requests == 0 || res.Errors != 0 {
		t.Fatalf("interrupted run: %+v, %v", res, err)
	}
}

func TestErrorsCountedByStatus(t *testing.T) {
	statuses := []int{200, 429, 503, 400}
	f := newFakeAS(t, func(n int64) int { return statuses[n%4] })
	res, err := tokenRun(t, f.URL, Options{Concurrency: 5, Requests: 200})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"429": 50, "503": 50, "400": 50}
	if res.OK != 50 || res.Errors != 150 || !mapsEqual(res.ErrorsByStatus, want) {
		t.Fatalf("ok %d, errors %d by status %v; want 50 ok and %v", res.OK, res.Errors, res.ErrorsByStatus, want)
	}
	if res.Status["200"] != 50 || res.Status["429"] != 50 {
		t.Fatalf("status counts %v", res.Status)
	}
	var text bytes.Buffer
	if err := res.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"requests/s", "p50", "p90", "p99", "max", "errors, status 429", "200 (50 ok, 150 errors)"} {
		if !strings.Contains(text.String(), s) {
			t.Errorf("text output lacks %q:\n%s", s, text.String())
		}
	}
}

// getScenario GETs one URL; it needs no discovery.
type getScenario struct{ t *Target }

func (g getScenario) Prepare(context.Context, int) error { return nil }
func (g getScenario) Do(ctx context.Context, _ int) (int, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, g.t.URL("/"), nil)
	return do(g.t.HTTP, req, nil)
}

func TestTransportErrorsCounted(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	tg, err := NewTarget(context.Background(), "http://"+addr, 2, time.Second, false)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), getScenario{tg}, Options{Concurrency: 2, Requests: 10})
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors != 10 || res.ErrorsByStatus["0"] != 10 || res.TransportErrors["connection refused"] != 10 {
		t.Fatalf("errors %d, by status %v, transport %v", res.Errors, res.ErrorsByStatus, res.TransportErrors)
	}
}

func TestPercentilesOnAKnownDistribution(t *testing.T) {
	ds := make([]time.Duration, 100)
	for i := range ds {
		ds[i] = time.Duration(i+1) * time.Millisecond
	}
	rand.Shuffle(len(ds), func(i, j int) { ds[i], ds[j] = ds[j], ds[i] })
	got := Percentiles(ds)
	want := Latency{Min: 1, Mean: 50.5, P50: 50, P90: 90, P99: 99, Max: 100}
	if got != want {
		t.Fatalf("1..100 ms: got %+v, want %+v", got, want)
	}
	// 1000 values: 999 fast ones and one slow outlier, which p99 must not
	// see and max must.
	ds = make([]time.Duration, 1000)
	for i := range ds {
		ds[i] = time.Millisecond
	}
	ds[500] = time.Second
	if got := Percentiles(ds); got.P99 != 1 || got.Max != 1000 {
		t.Fatalf("outlier: %+v", got)
	}
	if got := Percentiles([]time.Duration{7 * time.Millisecond}); got.P50 != 7 || got.P99 != 7 {
		t.Fatalf("one value: %+v", got)
	}
	if got := Percentiles(nil); got != (Latency{}) {
		t.Fatalf("no values: %+v", got)
	}
}

func TestUnboundedRunsRefused(t *testing.T) {
	for _, o := range []Options{
		{Concurrency: 4},
		{Concurrency: 0, Requests: 10},
		{Concurrency: MaxConcurrency + 1, Requests: 10},
		{Concurrency: 4, Duration: 2 * time.Hour},
		{Concurrency: 4, Requests: -1},
	} {
		if err := o.Validate(); err == nil {
			t.Errorf("%+v accepted", o)
		}
		if _, err := Run(context.Background(), getScenario{}, o); err == nil {
			t.Errorf("Run(%+v) ran", o)
		}
	}
}

func TestLoopbackOnly(t *testing.T) {
	ctx := context.Background()
	for _, u := range []string{"http://192.0.2.1:8080", "http://[2001:db8::1]/", "https://10.0.0.1"} {
		if _, err := NewTarget(ctx, u, 1, time.Second, false); !errors.Is(err, ErrNotLoopback) {
			t.Errorf("%s: %v, want ErrNotLoopback", u, err)
		}
		if _, err := NewTarget(ctx, u, 1, time.Second, true); err != nil {
			t.Errorf("%s with allowRemote: %v", u, err)
		}
	}
	for _, u := range []string{"http://127.0.0.1:8080", "http://[::1]:8080", "http://localhost:8080/issuer"} {
		if _, err := NewTarget(ctx, u, 1, time.Second, false); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	for _, u := range []string{"ftp://127.0.0.1", "127.0.0.1:8080", "http://u:p@127.0.0.1", "http://127.0.0.1/?x=1"} {
		if _, err := NewTarget(ctx, u, 1, time.Second, false); err == nil {
			t.Errorf("%s accepted", u)
		}
	}

	// A loopback server whose metadata sends the token requests elsewhere:
	// the dialer refuses the connection, without a packet leaving.
	f := newFakeAS(t, nil)
	f.tokenEndpoint = "http://192.0.2.1/token"
	res, err := tokenRun(t, f.URL, Options{Concurrency: 2, Requests: 4})
	if err != nil {
		t.Fatal(err)
	}
	if res.TransportErrors["refused: not loopback"] != 4 {
		t.Fatalf("transport errors %v", res.TransportErrors)
	}
}

func TestJSONOutputShape(t *testing.T) {
	f := newFakeAS(t, func(n int64) int { return []int{200, 429}[n%2] })
	res, err := tokenRun(t, f.URL, Options{Concurrency: 2, Requests: 10})
	if err != nil {
		t.Fatal(err)
	}
	res.Scenario, res.Target = "token", f.URL
	var buf bytes.Buffer
	if err := res.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var v map[string]json.RawMessage
	if err := json.Unmarshal(buf.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	// These names are documented in docs/performance.md: changing them
	// breaks scripts.
	want := []string{"concurrency", "duration_seconds", "errors", "errors_by_status", "latency_ms", "ok", "requests",
		"requests_per_second", "response_errors", "scenario", "status", "target", "transport_errors"}
	if got := sortedKeys(v); !slices.Equal(got, want) {
		t.Fatalf("keys %v, want %v", got, want)
	}
	var lat map[string]float64
	if err := json.Unmarshal(v["latency_ms"], &lat); err != nil {
		t.Fatal(err)
	}
	if got := sortedKeys(lat); !slices.Equal(got, []string{"max", "mean", "min", "p50", "p90", "p99"}) {
		t.Fatalf("latency keys %v", got)
	}
	var ebs map[string]int64
	if err := json.Unmarshal(v["errors_by_status"], &ebs); err != nil || ebs["429"] != 5 {
		t.Fatalf("errors_by_status %s", v["errors_by_status"])
	}
}

func TestParseForm(t *testing.T) {
	page := `<form method="get" action="/search"><input name="q"></form>
<form method="post" action="/oauth/authorize?x=1&amp;y=2">
<input type="hidden" name="csrf_token" value="a&amp;b">
<input type="hidden" name="scope" value="session:read">
<button type="submit" name="decision" value="allow" id="consent-allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>`
	f, ok := parseForm(page)
	if !ok || f.action != "/oauth/authorize?x=1&y=2" || f.values.Get("csrf_token") != "a&b" ||
		f.values.Get("decision") != "allow" || f.password != "" || f.decision != "decision" {
		t.Fatalf("consent form parsed as %+v", f)
	}
	f, ok = parseForm(`<form method="post" action="/login"><input type="hidden" name="return_to" value="/x">
<input type="text" id="username" name="username" value="" required><input type="password" name="password"></form>`)
	if !ok || f.username != "username" || f.password != "password" || f.values.Get("return_to") != "/x" {
		t.Fatalf("login form parsed as %+v", f)
	}
	if _, ok := parseForm("<p>no form</p>"); ok {
		t.Fatal("found a form in a page without one")
	}
}

func mapsEqual(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
