package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// registration is the body of PUT /api/resources/note/: the resource's
// policy ID is the path, its scopes are note:read|write|destroy (the
// methods decide which exist), and audience is the aud that authgate puts
// in tokens meant for notes (RFC 8707): a token asked for with
// resource=<audience>, or for note:* scopes only, carries it.
func registration(o options) map[string]any {
	return map[string]any{
		"name":        "note",
		"methods":     []string{"GET", "POST", "PUT", "PATCH", "DELETE"},
		"description": "Your notes and their comments",
		"audience":    o.audience,
	}
}

// errPermanent marks a registration failure that retrying cannot fix.
var errPermanent = errors.New("permanent")

// register declares the resource to authgate, authenticated as this
// resource server's client: created with --resource-server (only such
// clients may register resources and introspect other clients' tokens),
// using client_credentials with the resource:write scope. It
// retries for up to o.registerWait while authgate is unreachable or
// answers 5xx, so notes may start before authgate does.
func register(ctx context.Context, o options, hc *http.Client, log *slog.Logger) error {
	cc := clientcredentials.Config{
		ClientID: o.clientID, ClientSecret: o.clientSecret, TokenURL: o.issuer + "/oauth/token",
		Scopes: []string{"resource:write"}, AuthStyle: oauth2.AuthStyleInHeader,
	}
	client := cc.Client(context.WithValue(ctx, oauth2.HTTPClient, hc))
	body, err := json.Marshal(registration(o))
	if err != nil {
		return err
	}
	deadline := time.Now().Add(o.registerWait)
	for {
		err := putResource(ctx, client, o.issuer+"/api/resources/note/", body)
		if err == nil || errors.Is(err, errPermanent) || time.Now().After(deadline) {
			return err
		}
		log.Warn("registering the resource with authgate failed; retrying", slog.String("error", err.Error()))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

func putResource(ctx context.Context, client *http.Client, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %v", errPermanent, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	var re *oauth2.RetrieveError
	switch {
	case errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500:
		// The token endpoint refused the client: wrong ID or secret, or
		// a client not allowed resource:write.
		return fmt.Errorf("%w: get a token for resource:write: %s %s", errPermanent, re.ErrorCode, re.ErrorDescription)
	case err != nil:
		return fmt.Errorf("register resource note: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusCreated {
		return nil
	}
	var env struct {
		Err struct {
			Code int    `json:"code"`
			Msg  string `json:"msg"`
		} `json:"err"`
		Fields map[string][]string `json:"fields"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&env)
	err = fmt.Errorf("register resource note: HTTP %d, code %d: %s", resp.StatusCode, env.Err.Code, env.Err.Msg)
	if len(env.Fields) > 0 {
		err = fmt.Errorf("%w %v", err, env.Fields)
	}
	if resp.StatusCode == http.StatusForbidden && env.Err.Code == 101 {
		err = fmt.Errorf("%w (is --client-id a client created with --resource-server?)", err)
	}
	if resp.StatusCode < 500 {
		err = fmt.Errorf("%w: %w", errPermanent, err)
	}
	return err
}
