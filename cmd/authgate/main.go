// Command authgate is the authgate server and its operator CLI: serve,
// migrate, and management of users, API tokens, OAuth clients and keys.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], newStdio()))
}

// run executes the CLI and returns the process exit code.
func run(ctx context.Context, args []string, io stdio) int {
	root := newRootCmd(newCLI(io))
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(io.err, "authgate:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(io.err, "authgate:", err)
	return 1
}
