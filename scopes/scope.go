package scopes

import (
	"errors"
	"fmt"
	"strings"
)

// Action is the verb half of a "resource:action" scope.
type Action string

// The three actions of Djblets' HTTP_SCOPE_METHOD_MAP (docs/api-tokens.md, "OAuth2 scopes").
const (
	Read    Action = "read"
	Write   Action = "write"
	Destroy Action = "destroy"
)

// Actions lists every action in a fixed order (read, write, destroy).
func Actions() []Action { return []Action{Read, Write, Destroy} }

// Valid reports whether a is one of Read, Write, Destroy.
func (a Action) Valid() bool { return a == Read || a == Write || a == Destroy }

// ForMethod returns the action an HTTP method needs, and false for a method
// that maps to none (such a request can never be authorized by a scope).
//
// Djblets (see docs/api-tokens.md, "OAuth2 scopes"): GET, HEAD, OPTIONS →
// read; POST, PUT → write; DELETE →
// destroy. authgate adds PATCH → write
// (docs/architecture.md, "Scopes and resources"; Djblets leaves PATCH
// unmapped, so OAuth2 clients could never PATCH). Method names are
// case-sensitive (RFC 9110 §9.1), so "get" maps to nothing.
func ForMethod(method string) (Action, bool) {
	switch method {
	case "GET", "HEAD", "OPTIONS":
		return Read, true
	case "POST", "PUT", "PATCH":
		return Write, true
	case "DELETE":
		return Destroy, true
	}
	return "", false
}

// MaxNameLen is the longest resource (scope) name accepted.
const MaxNameLen = 100

// ErrInvalidScope is wrapped by every error ParseScope and ValidName return.
var ErrInvalidScope = errors.New("invalid scope")

// Scope is one "name:action" scope, e.g. "review_request:read".
type Scope struct {
	Name   string
	Action Action
}

// String formats the scope as "name:action".
func (s Scope) String() string { return s.Name + ":" + string(s.Action) }

// ParseScope parses "name:action" under authgate's strict grammar:
//
//	scope  = name ":" action
//	name   = (a-z / 0-9) *(a-z / 0-9 / "_" / "-" / ".")   ; at most MaxNameLen
//	action = "read" / "write" / "destroy"
//
// Names are lower case because policy IDs and scopes are compared exactly
// (Djblets; see docs/api-tokens.md, "Policy grammar"), and two scopes
// differing only in case would read as one
// on a consent page.
func ParseScope(s string) (Scope, error) {
	name, action, ok := strings.Cut(s, ":")
	if !ok {
		return Scope{}, fmt.Errorf("%w %q: missing \":<action>\" (want <resource>:read, <resource>:write or <resource>:destroy)", ErrInvalidScope, s)
	}
	if err := ValidName(name); err != nil {
		return Scope{}, fmt.Errorf("%w %q: %s", ErrInvalidScope, s, strings.TrimPrefix(err.Error(), ErrInvalidScope.Error()+": "))
	}
	a := Action(action)
	if !a.Valid() {
		return Scope{}, fmt.Errorf("%w %q: unknown action %q (want read, write or destroy)", ErrInvalidScope, s, action)
	}
	return Scope{Name: name, Action: a}, nil
}

// ValidName reports, as an error wrapping ErrInvalidScope, why name cannot
// be a resource, scope or policy name; nil when it can.
func ValidName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty resource name", ErrInvalidScope)
	}
	if len(name) > MaxNameLen {
		return fmt.Errorf("%w: resource name is %d bytes long (at most %d)", ErrInvalidScope, len(name), MaxNameLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case i > 0 && (c == '_' || c == '-' || c == '.'):
		default:
			return fmt.Errorf("%w: resource name %q has %s at position %d (allowed: a-z and 0-9, then also _ - .)",
				ErrInvalidScope, name, describeByte(c), i)
		}
	}
	return nil
}

func describeByte(c byte) string {
	if c > 0x20 && c < 0x7f {
		return fmt.Sprintf("character %q", rune(c))
	}
	return fmt.Sprintf("byte 0x%02x", c)
}
