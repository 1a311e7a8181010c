package integration

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// pgBin is where Debian's postgresql-15 package installs the server tools.
const pgBin = "/usr/lib/postgresql/15/bin"

// pgCluster is a throwaway PostgreSQL cluster that one test creates, stops
// and starts, on its own port: never the shared server other tests use.
type pgCluster struct {
	t    *testing.T
	dir  string
	data string
	port int
	// asPostgres: initdb and the server refuse to run as root, so as root
	// they run as the postgres OS user (runuser), in a directory it owns.
	asPostgres bool
}

// newPGCluster initialises and starts a cluster, or skips (fails under
// AUTHGATE_REQUIRE_POSTGRES=1) when the PostgreSQL binaries are missing.
func newPGCluster(t *testing.T) *pgCluster {
	t.Helper()
	if os.Getenv("AUTHGATE_TEST_POSTGRES") == "" {
		t.Skip("AUTHGATE_TEST_POSTGRES is not set: the outage test needs PostgreSQL")
	}
	if _, err := os.Stat(filepath.Join(pgBin, "initdb")); err != nil {
		if os.Getenv("AUTHGATE_REQUIRE_POSTGRES") == "1" {
			t.Fatalf("PostgreSQL binaries missing: %v", err)
		}
		t.Skipf("PostgreSQL binaries missing: %v", err)
	}
	dir, err := os.MkdirTemp("", "authgate-pg-")
	if err != nil {
		t.Fatal(err)
	}
	c := &pgCluster{t: t, dir: dir, data: filepath.Join(dir, "data"), asPostgres: os.Geteuid() == 0}
	t.Cleanup(func() {
		_ = c.run(30*time.Second, "pg_ctl", "-D", c.data, "-m", "immediate", "-w", "stop")
		_ = os.RemoveAll(dir)
	})
	if c.asPostgres {
		pg, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root needs the postgres OS user: %v", err)
		}
		uid, _ := strconv.Atoi(pg.Uid)
		gid, _ := strconv.Atoi(pg.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.run(time.Minute, "initdb", "-D", c.data, "-U", "authgate", "--auth=trust", "-E", "UTF8", "--no-sync"); err != nil {
		t.Fatal(err)
	}
	c.port = freePort(t)
	c.start()
	return c
}

// DSN is the URL of the cluster's postgres database.
func (c *pgCluster) DSN() string {
	return fmt.Sprintf("postgres://authgate@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

func (c *pgCluster) start() {
	c.t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", c.port, c.dir)
	if err := c.run(30*time.Second, "pg_ctl", "-D", c.data, "-o", opts, "-l", filepath.Join(c.dir, "log"), "-w", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "log"))
		c.t.Fatalf("%v\n%s", err, log)
	}
}

// stop shuts the server down with -m fast: sessions are disconnected, as in
// a restart or a failover.
func (c *pgCluster) stop() {
	c.t.Helper()
	if err := c.run(30*time.Second, "pg_ctl", "-D", c.data, "-m", "fast", "-w", "stop"); err != nil {
		c.t.Fatal(err)
	}
}

func (c *pgCluster) run(timeout time.Duration, tool string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	name, argv := filepath.Join(pgBin, tool), args
	if c.asPostgres {
		name, argv = "runuser", append([]string{"-u", "postgres", "--", filepath.Join(pgBin, tool)}, args...)
	}
	cmd := exec.CommandContext(ctx, name, argv...)
	cmd.Dir = c.dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %v: %v\n%s", tool, args, err, out.String())
	}
	return nil
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
