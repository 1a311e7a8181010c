package mgmtapi_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/authgate/authgate/internal/mgmtapi"
)

// TestRegistrationLogsUnmappedMethods (issue #14 item 5): a run-time
// registration whose methods include one that maps to no scope action is
// accepted, and the method is logged, as configuration-time registration
// does. Before: nothing was logged.
func TestRegistrationLogsUnmappedMethods(t *testing.T) {
	eachHarness(t, harnessOpts{}, func(t *testing.T, h *harness) {
		const warn = "resource methods map to no scope and get none"
		r := h.do(req{method: "PUT", path: mgmtapi.PathResources + "photos/", authz: h.basic("admin"),
			form: url.Values{"methods": {"GET PROPFIND"}}})
		if r.code != 201 {
			t.Fatalf("register: %d %s", r.code, r.raw)
		}
		logs := h.logs.String()
		i := strings.Index(logs, warn)
		if i < 0 {
			t.Fatalf("no warning logged:\n%s", logs)
		}
		line, _, _ := strings.Cut(logs[i:], "\n")
		if !strings.Contains(line, "PROPFIND") || strings.Contains(line, "GET") || !strings.Contains(line, `"policy_id":"photos"`) {
			t.Fatalf("warning %q", line)
		}
		r = h.do(req{method: "PUT", path: mgmtapi.PathResources + "videos/", authz: h.basic("admin"),
			form: url.Values{"methods": {"GET POST"}}})
		if r.code != 201 || strings.Count(h.logs.String(), warn) != 1 {
			t.Fatalf("a registration with mapped methods only: %d, %d warnings", r.code, strings.Count(h.logs.String(), warn))
		}
	})
}
