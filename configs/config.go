package configs

import (
	_ "embed"
	"errors"
	"fmt"
	"net"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/v2"
)

//go:embed default.yaml
var defaultYAML []byte

// EnvPrefix starts every environment variable that sets a configuration key.
const EnvPrefix = "AUTHGATE_"

// Config is authgate's whole configuration.
type Config struct {
	Server   Server   `koanf:"server"`
	Database Database `koanf:"database"`
	Log      Log      `koanf:"log"`
	OAuth    OAuth    `koanf:"oauth"`
	Tokens   Tokens   `koanf:"tokens"`
	Auth     Auth     `koanf:"auth"`
	Audit    Audit    `koanf:"audit"`
	GC       GC       `koanf:"gc"`
	// Resources declares the resources of separate resource servers.
	Resources []Resource `koanf:"resources"`
}

// Server configures the HTTP listener.
type Server struct {
	Addr            string        `koanf:"addr"`
	ShutdownTimeout time.Duration `koanf:"shutdown_timeout"`
	MaxBodyBytes    int64         `koanf:"max_body_bytes"`
	// TrustedProxies lists the reverse proxies (IPs or CIDRs) whose
	// X-Forwarded-For is believed; empty trusts none.
	TrustedProxies []string `koanf:"trusted_proxies"`
	// MetricsAddr, when set, serves /metrics on this separate listener
	// (host:port) and not on Addr, so it can stay on a private interface.
	MetricsAddr string `koanf:"metrics_addr"`
}

// Database selects and prepares the database.
type Database struct {
	URL         string `koanf:"url"`
	AutoMigrate bool   `koanf:"auto_migrate"`

	// The connection pool; zero takes the dialect's default (see
	// docs/operations.md, "Connection pool").
	MaxOpenConns    int           `koanf:"max_open_conns"`
	MaxIdleConns    int           `koanf:"max_idle_conns"`
	ConnMaxLifetime time.Duration `koanf:"conn_max_lifetime"`
	ConnMaxIdleTime time.Duration `koanf:"conn_max_idle_time"`
}

// Log configures log/slog output.
type Log struct {
	Level  string `koanf:"level"`
	Format string `koanf:"format"`
}

// Overrides are values from command-line flags, applied last. Keys are
// configuration paths such as "server.addr".
type Overrides map[string]any

// Load builds the configuration from the defaults, the optional YAML file at
// path, the environment (environ, usually os.Environ()) and overrides.
func Load(path string, environ []string, overrides Overrides) (Config, error) {
	known := knownKeys(reflect.TypeOf(Config{}), "")
	k := koanf.New(".")
	defaults, err := yaml.Parser().Unmarshal(defaultYAML)
	if err != nil {
		return Config{}, fmt.Errorf("built-in defaults: %w", err)
	}
	if err := k.Load(confmap.Provider(defaults, ""), nil); err != nil {
		return Config{}, fmt.Errorf("built-in defaults: %w", err)
	}

	if path != "" {
		fk := koanf.New(".")
		if err := fk.Load(file.Provider(path), yaml.Parser()); err != nil {
			return Config{}, fmt.Errorf("config file %s: %w", path, err)
		}
		if err := translateRenamed(fk, "config file "+path); err != nil {
			return Config{}, err
		}
		if err := checkKeys(fk, known, func(key string) string { return fmt.Sprintf("config file %s: unknown key %q", path, key) }); err != nil {
			return Config{}, err
		}
		if err := k.Merge(fk); err != nil {
			return Config{}, fmt.Errorf("config file %s: %w", path, err)
		}
	}

	ek := koanf.New(".")
	envKeys, envNames := fromEnviron(environ)
	if err := ek.Load(confmap.Provider(envKeys, "."), nil); err != nil {
		return Config{}, fmt.Errorf("environment: %w", err)
	}
	if err := translateRenamed(ek, "environment"); err != nil {
		return Config{}, err
	}
	if err := checkKeys(ek, known, func(key string) string {
		return fmt.Sprintf("environment: %s does not name a configuration key (%q)", envNames[key], key)
	}); err != nil {
		return Config{}, err
	}
	if err := k.Merge(ek); err != nil {
		return Config{}, fmt.Errorf("environment: %w", err)
	}

	overrides, err = translateOverrides(overrides)
	if err != nil {
		return Config{}, err
	}
	for key, v := range overrides {
		if !known[key] {
			return Config{}, fmt.Errorf("flag sets unknown key %q", key)
		}
		if err := k.Set(key, v); err != nil {
			return Config{}, fmt.Errorf("flag for %q: %w", key, err)
		}
	}

	var cfg Config
	err = k.UnmarshalWithConf("", &cfg, koanf.UnmarshalConf{
		Tag: "koanf",
		DecoderConfig: &mapstructure.DecoderConfig{
			DecodeHook: mapstructure.ComposeDecodeHookFunc(
				mapstructure.StringToTimeDurationHookFunc(),
				mapstructure.StringToSliceHookFunc(","),
			),
			Metadata:         nil,
			ErrorUnused:      true,
			WeaklyTypedInput: true,
			Result:           &cfg,
			TagName:          "koanf",
		},
	})
	if err != nil {
		return Config{}, fmt.Errorf("invalid configuration: %w", err)
	}
	cfg.deriveIssuer()
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// fromEnviron picks the AUTHGATE_SECTION__KEY variables out of environ and
// returns them as flat configuration keys ("section.key"), with the variable
// each key came from for error messages. Variables without "__" (such as
// AUTHGATE_ADMIN_PASSWORD) are read by the commands themselves, not here.
func fromEnviron(environ []string) (map[string]any, map[string]string) {
	keys := map[string]any{}
	names := map[string]string{}
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix) {
			continue
		}
		rest := strings.TrimPrefix(name, EnvPrefix)
		if !strings.Contains(rest, "__") {
			continue
		}
		key := strings.ToLower(strings.ReplaceAll(rest, "__", "."))
		keys[key] = value
		names[key] = name
	}
	return keys, names
}

// knownKeys lists every key path of a config struct type, true for leaves
// and false for sections. A slice or map field is a leaf: its elements are
// checked when decoding.
func knownKeys(t reflect.Type, prefix string) map[string]bool {
	out := map[string]bool{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("koanf")
		if tag == "" || tag == "-" {
			continue
		}
		path := tag
		if prefix != "" {
			path = prefix + "." + tag
		}
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(time.Time{}) {
			out[path] = false
			for k, leaf := range knownKeys(f.Type, path) {
				out[k] = leaf
			}
			continue
		}
		out[path] = true
	}
	return out
}

func checkKeys(k *koanf.Koanf, known map[string]bool, msg func(key string) string) error {
	var bad []string
	for _, key := range k.Keys() {
		if leaf, ok := known[key]; ok && leaf {
			continue
		}
		// A key below a known leaf (a list or map value) is that leaf's business.
		underLeaf := false
		for p := key; strings.Contains(p, "."); {
			p = p[:strings.LastIndex(p, ".")]
			if known[p] {
				underLeaf = true
				break
			}
		}
		if !underLeaf {
			bad = append(bad, key)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	errs := make([]error, len(bad))
	for i, key := range bad {
		m := msg(key)
		if leaf, ok := known[key]; ok && !leaf {
			m += " is a section: set its keys, not a value"
		}
		errs[i] = errors.New(m)
	}
	return errors.Join(errs...)
}

// deriveIssuer fills an empty oauth.issuer with http://<server.addr> when
// that address is a loopback one, so a development server started with
// --addr advertises the endpoints it really listens on. Anywhere else the
// issuer must be configured (Validate says so).
func (c *Config) deriveIssuer() {
	if c.OAuth.Issuer != "" {
		return
	}
	host, _, err := net.SplitHostPort(c.Server.Addr)
	if err != nil {
		return
	}
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		c.OAuth.Issuer = "http://" + c.Server.Addr
	}
}

// Validate checks values that decode fine but make no sense.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("invalid value for %q: %s", key, fmt.Sprintf(format, args...)))
	}
	if _, _, err := net.SplitHostPort(c.Server.Addr); err != nil {
		bad("server.addr", "%q is not host:port (%v)", c.Server.Addr, err)
	}
	if c.Server.ShutdownTimeout <= 0 {
		bad("server.shutdown_timeout", "must be positive")
	}
	if c.Server.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.Server.MetricsAddr); err != nil {
			bad("server.metrics_addr", "%q is not host:port (%v)", c.Server.MetricsAddr, err)
		} else if c.Server.MetricsAddr == c.Server.Addr {
			bad("server.metrics_addr", "must differ from server.addr")
		}
	}
	for _, p := range c.Server.TrustedProxies {
		if _, _, err := net.ParseCIDR(p); err != nil && net.ParseIP(p) == nil {
			bad("server.trusted_proxies", "%q is not an IP address or CIDR", p)
		}
	}
	if c.Server.MaxBodyBytes < 1024 {
		bad("server.max_body_bytes", "must be at least 1024")
	}
	if strings.TrimSpace(c.Database.URL) == "" {
		bad("database.url", "must not be empty")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "%q is not one of debug, info, warn, error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format", "%q is not one of text, json", c.Log.Format)
	}
	if c.OAuth.Issuer == "" {
		bad("oauth.issuer", "must be set when server.addr (%q) is not a loopback address: it is the public base URL of this server", c.Server.Addr)
	}
	errs = append(errs, c.validatePool()...)
	errs = append(errs, c.OAuth.Validate()...)
	errs = append(errs, c.Tokens.Validate()...)
	errs = append(errs, c.Auth.Validate()...)
	errs = append(errs, c.validateGC()...)
	errs = append(errs, validateResources(c.Resources)...)
	return errors.Join(errs...)
}
