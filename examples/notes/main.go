// Command notes is an example resource server protected by authgate: an
// in-memory notes API that third-party apps reach with OAuth2 access
// tokens (scopes note:read|write|destroy) and first-party scripts with
// API tokens (policy ID "note"). It uses only authgate's public packages;
// guard.go holds every line that does.
//
//	go run ./examples/notes --addr 127.0.0.1:8090 --issuer http://127.0.0.1:8080 \
//	    --client-id agci_… --client-secret-file notes.secret [--audience URL]
//
// See examples/notes/README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// options configure notes; each flag may also come from the environment
// variable in its usage text.
type options struct {
	addr, issuer, clientID, clientSecret, audience string
	// revocationBound is how long an answer from authgate's introspection
	// endpoint is reused: a revoked token is refused at most this long
	// after its revocation.
	revocationBound time.Duration
	// keyRefetch is the least time between two JWKS fetches caused by a
	// token naming an unknown key.
	keyRefetch   time.Duration
	registerWait time.Duration
	// failedAuth is how many refused Authorization headers one client
	// address may send a minute before every header from it is refused
	// (Djblets' LOGIN_LIMIT_RATE); negative turns the limit off.
	failedAuth int
}

// defaultRevocationBound is small so that revocation is felt quickly; each
// token in use costs one introspection request per bound.
const defaultRevocationBound = 5 * time.Second

func parseOptions(args []string, getenv func(string) string) (options, error) {
	fs := flag.NewFlagSet("notes", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	envInt := func(name string, def int) int {
		if n, err := strconv.Atoi(getenv(name)); err == nil {
			return n
		}
		return def
	}
	var o options
	var secretFile, bound string
	fs.StringVar(&o.addr, "addr", env("NOTES_ADDR", "127.0.0.1:8090"), "listen address (NOTES_ADDR)")
	fs.StringVar(&o.issuer, "issuer", env("NOTES_ISSUER", ""), "authgate's issuer URL (NOTES_ISSUER)")
	fs.StringVar(&o.clientID, "client-id", env("NOTES_CLIENT_ID", ""), "this resource server's client ID (NOTES_CLIENT_ID)")
	fs.StringVar(&secretFile, "client-secret-file", env("NOTES_CLIENT_SECRET_FILE", ""), "file holding the client secret (NOTES_CLIENT_SECRET_FILE)")
	fs.StringVar(&o.audience, "audience", env("NOTES_AUDIENCE", ""), "aud of tokens meant for notes; default http://ADDR (NOTES_AUDIENCE)")
	fs.IntVar(&o.failedAuth, "failed-auth-attempts", envInt("NOTES_FAILED_AUTH_ATTEMPTS", 5),
		"refused credentials per client address a minute before it is locked out; -1 turns the limit off (NOTES_FAILED_AUTH_ATTEMPTS)")
	fs.StringVar(&bound, "revocation-bound", env("NOTES_REVOCATION_BOUND", defaultRevocationBound.String()),
		"longest time a revoked token is still accepted (NOTES_REVOCATION_BOUND)")
	if err := fs.Parse(args); err != nil {
		var usage strings.Builder
		fs.SetOutput(&usage)
		fs.PrintDefaults()
		return o, fmt.Errorf("%w\nusage: notes [flags]\n%s", err, usage.String())
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var err error
	if o.revocationBound, err = time.ParseDuration(bound); err != nil || o.revocationBound < 0 {
		return o, fmt.Errorf("--revocation-bound %q: want a duration such as 5s", bound)
	}
	if o.failedAuth == 0 {
		return o, errors.New("--failed-auth-attempts: want a positive count, or -1 for no limit")
	}
	if o.revocationBound == 0 {
		o.revocationBound = -1 // ask authgate on every request
	}
	o.issuer = strings.TrimRight(o.issuer, "/")
	if u, err := url.Parse(o.issuer); o.issuer == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return o, errors.New("--issuer: want authgate's base URL, e.g. https://auth.example")
	}
	if o.clientID == "" || secretFile == "" {
		return o, errors.New("--client-id and --client-secret-file are required")
	}
	secret, err := os.ReadFile(secretFile)
	if err != nil {
		return o, fmt.Errorf("--client-secret-file: %w", err)
	}
	if o.clientSecret = strings.TrimSpace(string(secret)); o.clientSecret == "" {
		return o, errors.New("--client-secret-file: the file is empty")
	}
	if o.audience == "" {
		o.audience = "http://" + o.addr
	}
	o.keyRefetch, o.registerWait = 5*time.Second, 30*time.Second
	return o, nil
}

// newHandler is the whole HTTP surface: /healthz and the protected API.
// Paths nothing serves get Djblets' 404 envelope; a known path with
// another method gets 405 with Allow and an empty body, as Djblets
// answers (HttpResponseNotAllowed).
func newHandler(o options, notes *store) (http.Handler, error) {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { writeFail(w, errDoesNotExist) })
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	guarded, err := protect(o)
	if err != nil {
		return nil, err
	}
	allowed := map[string][]string{"/healthz": {http.MethodGet}}
	for _, rt := range (&api{notes: notes}).routes() {
		// {$}: the path exactly, so /api/notes/1/x is not note 1.
		mux.Handle(rt.method+" "+rt.path+"{$}", guarded(rt.h))
		allowed[rt.path+"{$}"] = append(allowed[rt.path+"{$}"], rt.method)
	}
	for pattern, methods := range allowed {
		allow := strings.Join(methods, ", ")
		mux.HandleFunc(pattern, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Allow", allow)
			w.WriteHeader(http.StatusMethodNotAllowed)
		})
	}
	return recoverer(mux), nil
}

// recoverer answers a handler's panic with Djblets' 500 envelope rather
// than a dropped connection.
func recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				writeFail(w, apiError{Code: 1000, Status: http.StatusInternalServerError, Type: "server-error",
					Msg: "An internal error occurred. Please try again later."})
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	o, err := parseOptions(args, getenv)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	h, err := newHandler(o, newStore())
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	if err := register(ctx, o, &http.Client{Timeout: 10 * time.Second}, log); err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	log.Info("notes is serving", slog.String("addr", ln.Addr().String()), slog.String("issuer", o.issuer),
		slog.String("audience", o.audience), slog.Duration("revocation_bound", max(o.revocationBound, 0)))
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "notes:", err)
		os.Exit(1)
	}
}
