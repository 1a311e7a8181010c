package main

import (
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestPackageInitIsCheap: no authgate package does heavy work when the
// binary starts (every command, `authgate version` included, pays for it
// before main): each package's init allocates less than 1 MiB. It re-runs
// this test binary, which links the same packages as authgate, with
// GODEBUG=inittrace=1 and reads what the runtime reports per package.
// An argon2id hash at init (19 MiB) once cost `serve` over a second on a
// busy machine. See docs/performance.md, "Start-up".
func TestPackageInitIsCheap(t *testing.T) {
	if os.Getenv("AUTHGATE_INITTRACE_CHILD") == "1" {
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestPackageInitIsCheap$")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1", "AUTHGATE_INITTRACE_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("re-run: %v\n%s", err, out)
	}
	line := regexp.MustCompile(`(?m)^init (\S+) @\S+ ms, \S+ ms clock, (\d+) bytes, \d+ allocs$`)
	const limit = 1 << 20
	seen := 0
	for _, m := range line.FindAllStringSubmatch(string(out), -1) {
		pkg := m[1]
		if !strings.HasPrefix(pkg, "github.com/authgate/authgate/") {
			continue
		}
		seen++
		if n, _ := strconv.Atoi(m[2]); n >= limit {
			t.Errorf("init of %s allocates %d bytes, want < %d: move the work out of package initialisation", pkg, n, limit)
		}
	}
	if seen == 0 {
		t.Fatalf("no authgate package in the init trace:\n%s", out)
	}
}
