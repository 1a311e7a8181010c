package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/authgate/authgate/internal/app"
	"github.com/authgate/authgate/internal/db"
)

func newServeCmd(c *cli) *cobra.Command {
	var addr string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the authorization server",
		Long: `Run the authorization server on --addr (default 127.0.0.1:8080) with the
database from --database-url (default: the SQLite file authgate.db).

On first start with no users, the user "admin" is created with the password
in AUTHGATE_ADMIN_PASSWORD, or a random one printed once to stderr.
SIGINT or SIGTERM shut the server down gracefully.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if addr != "" {
				c.overrides["server.addr"] = addr
			}
			cfg, err := c.config()
			if err != nil {
				return err
			}
			logger := c.logger(cfg)
			ctx := cmd.Context()
			a, err := app.New(ctx, cfg, logger, app.Options{})
			if err != nil {
				return err
			}
			defer a.Close()
			if err := a.EnsureAdmin(ctx, c.io.err); err != nil {
				return err
			}
			a.WarnAtStart()

			ln, err := net.Listen("tcp", cfg.Server.Addr)
			if err != nil {
				return fmt.Errorf("listen on %s: %w", cfg.Server.Addr, err)
			}
			srv := &http.Server{
				Handler:           a.Router,
				ReadHeaderTimeout: 10 * time.Second,
				ReadTimeout:       30 * time.Second,
				WriteTimeout:      30 * time.Second,
				IdleTimeout:       120 * time.Second,
				MaxHeaderBytes:    64 << 10,
			}
			logger.Info("authgate listening", "addr", ln.Addr().String(), "database", db.Redact(cfg.Database.URL), "dialect", string(a.DB.Dialect))

			servers := []*http.Server{srv}
			listeners := []net.Listener{ln}
			if ma := cfg.Server.MetricsAddr; ma != "" {
				mln, err := net.Listen("tcp", ma)
				if err != nil {
					ln.Close()
					return fmt.Errorf("listen on %s (server.metrics_addr): %w", ma, err)
				}
				servers = append(servers, &http.Server{Handler: a.MetricsHandler(), ReadHeaderTimeout: 10 * time.Second,
					ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, MaxHeaderBytes: 64 << 10})
				listeners = append(listeners, mln)
				logger.Info("metrics listening", "addr", mln.Addr().String())
			}

			errc := make(chan error, len(servers))
			for i, s := range servers {
				go func() { errc <- s.Serve(listeners[i]) }()
			}
			select {
			case err := <-errc:
				return fmt.Errorf("serve: %w", err)
			case <-ctx.Done():
			}
			logger.Info("shutting down", "timeout", cfg.Server.ShutdownTimeout)
			sctx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout)
			defer cancel()
			for _, s := range servers {
				if err := s.Shutdown(sctx); err != nil {
					return fmt.Errorf("graceful shutdown: %w", err)
				}
			}
			for range servers {
				if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
					return err
				}
			}
			logger.Info("stopped")
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "", "listen address host:port (default \"127.0.0.1:8080\")")
	return cmd
}

func newMigrateCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending database migrations",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := c.config()
			if err != nil {
				return err
			}
			d, err := db.Open(cmd.Context(), cfg.Database.URL)
			if err != nil {
				return err
			}
			defer d.Close()
			n, err := d.Migrate(cmd.Context())
			if err != nil {
				return err
			}
			v, _, err := d.MigrationStatus(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(c.io.out, "applied %d migration(s); %s schema is at version %d\n", n, d.Dialect, v)
			return nil
		},
	}
}
