package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// ErrNotLoopback refuses a target (or a connection) outside this machine
// unless remote targets were allowed.
var ErrNotLoopback = errors.New("not a loopback address (use --allow-remote to load a remote server)")

// Target is the server under load and how to reach it.
type Target struct {
	// Base is the server's base URL (the issuer for authgate).
	Base *url.URL
	// HTTP is the shared client: one transport sized for the concurrency.
	HTTP *http.Client
	// AllowRemote lets connections leave the loopback interface.
	AllowRemote bool
	// Metadata is the RFC 8414 document, after Discover.
	Metadata Metadata
}

// Metadata is the part of RFC 8414 authorization server metadata the
// scenarios use.
type Metadata struct {
	Issuer                string `json:"issuer"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
	IntrospectionEndpoint string `json:"introspection_endpoint"`
}

// NewTarget checks rawURL (http or https; when !allowRemote its host must
// resolve to loopback addresses only) and builds a client whose transport
// keeps `concurrency` idle connections to the host, so a closed-loop run
// reuses connections instead of measuring TCP handshakes. Without
// allowRemote the dialer also refuses every non-loopback address at
// connect time, which covers redirects, discovered endpoints and DNS that
// changes after the check.
func NewTarget(ctx context.Context, rawURL string, concurrency int, timeout time.Duration, allowRemote bool) (*Target, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--target %q: want an http(s) base URL such as http://127.0.0.1:8080", rawURL)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("--target %q: no credentials, query or fragment", rawURL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	if !allowRemote {
		if err := checkLoopbackHost(ctx, u.Hostname()); err != nil {
			return nil, fmt.Errorf("--target %s: %w", u.Host, err)
		}
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	if !allowRemote {
		dialer.Control = func(_, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
				return fmt.Errorf("connect to %s: %w", address, ErrNotLoopback)
			}
			return nil
		}
	}
	tr := &http.Transport{
		Proxy:               nil, // a proxy would measure itself, and could leave the machine
		DialContext:         dialer.DialContext,
		MaxIdleConns:        2 * concurrency,
		MaxIdleConnsPerHost: concurrency,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
		ForceAttemptHTTP2:   true,
	}
	return &Target{Base: u, AllowRemote: allowRemote, HTTP: &http.Client{Transport: tr, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}, nil
}

// checkLoopbackHost resolves host and requires every address to be loopback.
func checkLoopbackHost(ctx context.Context, host string) error {
	if ip := net.ParseIP(host); ip != nil {
		if !ip.IsLoopback() {
			return fmt.Errorf("%s is %w", host, ErrNotLoopback)
		}
		return nil
	}
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", host, err)
	}
	for _, a := range addrs {
		if !a.IP.IsLoopback() {
			return fmt.Errorf("%s resolves to %s, which is %w", host, a.IP, ErrNotLoopback)
		}
	}
	if len(addrs) == 0 {
		return fmt.Errorf("%s has no addresses", host)
	}
	return nil
}

// URL resolves a path against the target's base URL.
func (t *Target) URL(path string) string {
	u := *t.Base
	u.Path = t.Base.Path + path
	return u.String()
}

// Discover fetches the RFC 8414 metadata. For an issuer with a path the
// well-known segment goes between host and path (RFC 8414 §3.1).
func (t *Target) Discover(ctx context.Context) error {
	u := *t.Base
	u.Path = "/.well-known/oauth-authorization-server" + t.Base.Path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := t.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("metadata: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("metadata %s: %s", u.String(), resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&t.Metadata); err != nil {
		return fmt.Errorf("metadata %s: %w", u.String(), err)
	}
	if t.Metadata.TokenEndpoint == "" {
		return fmt.Errorf("metadata %s: no token_endpoint", u.String())
	}
	return nil
}

// transportCause names a transport error briefly, so that thousands of
// "connection refused" from different ports count as one cause.
func transportCause(err error) string {
	switch {
	case err == nil:
		return "unknown"
	case errors.Is(err, ErrNotLoopback):
		return "refused: not loopback"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		return "timeout"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed (EOF)"
	}
	return err.Error()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
