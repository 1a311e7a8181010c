// Package configs defines authgate's configuration and loads it with koanf:
// built-in defaults (default.yaml, embedded) < a YAML file < AUTHGATE_*
// environment variables < command-line flags.
//
// An unknown key or an invalid value is an error naming the key, so a typo
// never silently falls back to a default.
package configs
