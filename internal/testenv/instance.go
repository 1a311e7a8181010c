package testenv

import (
	"context"
	"testing"

	"github.com/authgate/authgate/internal/app"
)

// Instance builds a second application on e's database, configuration,
// issuer and clock — another authgate process sharing the database, as a
// deployment of several instances runs — closed when t ends. It is not
// served over HTTP: send requests to its Router. Its logs join e.Logs.
func (e *Env) Instance(t testing.TB) *app.App {
	t.Helper()
	a, err := app.New(context.Background(), e.cfg, e.Logs.logger(), e.appOpts)
	if err != nil {
		t.Fatalf("testenv: build a second instance: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}
