package integration

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/configs"
	"github.com/authgate/authgate/tokens"
)

// outageLog records every answer of the load, by phase.
type outageLog struct {
	mu        sync.Mutex
	phase     string
	statuses  map[string]map[string]int // phase → "route status" → count
	issued    []string                  // access tokens answered with 200
	bad       []string                  // answers that break the contract
	recovered time.Time                 // first 200 from /oauth/token after the database returned
	dbBack    time.Time
}

func (l *outageLog) record(route string, status int, hdr http.Header, body []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	key := route + " " + http.StatusText(status)
	if l.statuses[l.phase] == nil {
		l.statuses[l.phase] = map[string]int{}
	}
	l.statuses[l.phase][key]++
	switch status {
	case http.StatusOK:
		if route == "token" {
			var tok struct {
				AccessToken string `json:"access_token"`
			}
			if json.Unmarshal(body, &tok) != nil || tok.AccessToken == "" {
				l.bad = append(l.bad, "token 200 without an access token: "+string(body))
			}
			l.issued = append(l.issued, tok.AccessToken)
			if !l.dbBack.IsZero() && l.recovered.IsZero() {
				l.recovered = time.Now()
			}
		}
	case http.StatusUnauthorized:
		if route != "unknown" {
			l.bad = append(l.bad, route+" 401: "+string(body))
		}
	case http.StatusServiceUnavailable:
		want := `"error":"temporarily_unavailable"`
		if route != "token" {
			want = `"stat":"fail"`
		}
		if hdr.Get("Retry-After") == "" || !strings.Contains(string(body), want) {
			l.bad = append(l.bad, route+" 503 without Retry-After or envelope: "+string(body))
		}
	default:
		l.bad = append(l.bad, route+" "+http.StatusText(status)+" during phase "+l.phase+": "+string(body))
	}
}

func (l *outageLog) setPhase(p string) { l.mu.Lock(); l.phase = p; l.mu.Unlock() }

// TestPostgresOutage stops PostgreSQL under load and starts it again. The
// load is what a service and a script do: client_credentials at
// /oauth/token and GET /api/session/ with an API token. authgate must stay
// up, answer 503 with Retry-After (never 500) while the database is away
// (a client_credentials JWT from a cached client is still issued: it needs
// no row; docs/performance.md, "Issuance"),
// /readyz 503; recover by itself within 5 s of the database's return; and
// every access token it answered 200 for must be valid afterwards.
func TestPostgresOutage(t *testing.T) {
	pg := newPGCluster(t)
	ag := startAuthgate(t, pg.DSN(), configs.Overrides{"auth.token_endpoint_ip_fail_rate": 1000000, "auth.token_endpoint_client_rate": 1000000,
		"auth.api_failed_auth_attempts": -1})
	svc := ag.serviceClient("session:read")
	rs := ag.resourceServer()
	exp := time.Now().Add(time.Hour)
	_, apiToken, err := ag.App.Tokens.Generate(context.Background(), tokens.GenerateParams{User: ag.alice, Expires: &exp, Note: "outage"})
	if err != nil {
		t.Fatal(err)
	}
	log := &outageLog{phase: "before", statuses: map[string]map[string]int{}}
	client := &http.Client{Timeout: 10 * time.Second}
	call := func(route string) {
		var req *http.Request
		if route == "token" {
			form := url.Values{"grant_type": {"client_credentials"}, "scope": {"session:read"}}
			req, _ = http.NewRequest(http.MethodPost, ag.URL+authserver.PathToken, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(url.QueryEscape(svc.ID), url.QueryEscape(svc.Secret))
		} else {
			req, _ = http.NewRequest(http.MethodGet, ag.URL+"/api/session/", nil)
			req.Header.Set("Authorization", "token "+apiToken)
			if route == "unknown" {
				// A well-formed token no cache has seen: the Guard must
				// ask the database (401 when it answers).
				fresh, err := tokens.VendorChecksum{}.Create(tokens.TokenInfo{TokenType: "agp", Length: 40})
				if err != nil {
					t.Error(err)
					return
				}
				req.Header.Set("Authorization", "token "+fresh)
			}
		}
		resp, err := client.Do(req)
		if err != nil {
			log.mu.Lock()
			log.bad = append(log.bad, route+": "+err.Error()) // authgate did not answer
			log.mu.Unlock()
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		log.record(route, resp.StatusCode, resp.Header, body)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 5 {
		route := []string{"token", "session", "token", "session", "unknown"}[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				call(route)
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}

	time.Sleep(time.Second)
	log.setPhase("outage")
	outageStart := time.Now()
	pg.stop()
	time.Sleep(1500 * time.Millisecond)
	readyz, err := http.Get(ag.URL + "/readyz")
	if err != nil {
		t.Fatalf("/readyz during the outage: %v", err)
	}
	readyz.Body.Close()
	if readyz.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/readyz during the outage: %d, want 503", readyz.StatusCode)
	}
	time.Sleep(1500 * time.Millisecond)
	pg.start()
	log.mu.Lock()
	log.phase, log.dbBack = "after", time.Now()
	log.mu.Unlock()
	outage := time.Since(outageStart)
	deadline := time.Now().Add(5 * time.Second)
	for {
		log.mu.Lock()
		rec := log.recovered
		log.mu.Unlock()
		if !rec.IsZero() {
			break
		}
		if time.Now().After(deadline) {
			close(stop)
			wg.Wait()
			t.Fatalf("no token issued within 5 s of the database's return; answers: %v", log.statuses)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()

	for _, b := range log.bad {
		t.Error(b)
	}
	for _, phase := range []string{"before", "outage", "after"} {
		keys := make([]string, 0, len(log.statuses[phase]))
		for k := range log.statuses[phase] {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, k+"="+strconv.Itoa(log.statuses[phase][k]))
		}
		t.Logf("%-6s %s", phase, strings.Join(parts, ", "))
	}
	// An unknown API token needs the database to be refused: 503. A
	// client_credentials request may be answered either way: from the
	// client cache, with a JWT that needs no row, it is issued (200);
	// otherwise 503. Anything else breaks the contract.
	if log.statuses["outage"]["unknown "+http.StatusText(http.StatusServiceUnavailable)] == 0 {
		t.Errorf("no 503 from unknown during the outage: %v", log.statuses["outage"])
	}
	for k, n := range log.statuses["outage"] {
		if strings.HasPrefix(k, "token ") && k != "token OK" && k != "token "+http.StatusText(http.StatusServiceUnavailable) {
			t.Errorf("token endpoint answered %q %d times during the outage", k, n)
		}
	}
	t.Logf("database down for %s; first token %s after it returned", outage.Round(time.Millisecond),
		log.recovered.Sub(log.dbBack).Round(time.Millisecond))

	// Every token answered 200 — before, during (if any) and after — is
	// valid now: introspection says active with the granted scope.
	for _, tok := range log.issued {
		body := ag.introspect(rs, tok)
		if active, _ := body["active"].(bool); !active || body["scope"] != "session:read" {
			t.Errorf("token answered 200 is not valid afterwards: %v", body)
		}
	}
	t.Logf("%d issued tokens verified active after the outage", len(log.issued))
}
