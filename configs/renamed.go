package configs

import (
	"fmt"
	"strconv"

	"github.com/knadh/koanf/v2"
)

// renamedKey is a configuration key that was renamed and inverted so that
// its zero value is the safe one (docs/architecture.md, "Wiring"). The old
// key keeps working: a source that sets it is read as setting the new key
// to the opposite value.
type renamedKey struct{ old, new string }

var renamedKeys = []renamedKey{
	// require_pkce_all: true (the default) was the safe setting, so a
	// zero Config allowed confidential clients without PKCE.
	{old: "oauth.require_pkce_all", new: "oauth.allow_confidential_without_pkce"},
}

// translateRenamed rewrites the old, inverted keys one source (a file, the
// environment) sets into their new keys. Setting both in one source is an
// error naming the new key.
func translateRenamed(k *koanf.Koanf, source string) error {
	for _, r := range renamedKeys {
		if !k.Exists(r.old) {
			continue
		}
		if k.Exists(r.new) {
			return fmt.Errorf("%s: %q replaces %q (inverted); set only %q", source, r.new, r.old, r.new)
		}
		v, err := parseBool(k.Get(r.old))
		if err != nil {
			return fmt.Errorf("%s: invalid value for %q (now %q, inverted): %w", source, r.old, r.new, err)
		}
		k.Delete(r.old)
		if err := k.Set(r.new, !v); err != nil {
			return fmt.Errorf("%s: %q: %w", source, r.new, err)
		}
	}
	return nil
}

// translateOverrides is translateRenamed for flag overrides.
func translateOverrides(overrides Overrides) (Overrides, error) {
	out := make(Overrides, len(overrides))
	for key, v := range overrides {
		out[key] = v
	}
	for _, r := range renamedKeys {
		v, ok := out[r.old]
		if !ok {
			continue
		}
		if _, both := out[r.new]; both {
			return nil, fmt.Errorf("flags: %q replaces %q (inverted); set only %q", r.new, r.old, r.new)
		}
		b, err := parseBool(v)
		if err != nil {
			return nil, fmt.Errorf("flag for %q (now %q, inverted): %w", r.old, r.new, err)
		}
		delete(out, r.old)
		out[r.new] = !b
	}
	return out, nil
}

func parseBool(v any) (bool, error) {
	switch b := v.(type) {
	case bool:
		return b, nil
	case string:
		return strconv.ParseBool(b)
	}
	return false, fmt.Errorf("%v is not true or false", v)
}
