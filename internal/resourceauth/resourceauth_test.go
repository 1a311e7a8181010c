package resourceauth

import (
	"errors"
	"testing"

	"github.com/authgate/authgate/internal/tokenformat"
	"github.com/authgate/authgate/resources"
	"github.com/authgate/authgate/tokens"
)

// The Guard's copies of authgate's constants must not drift.
func TestConstantsAgree(t *testing.T) {
	if resources.DeprecatedTokenMessage != tokens.DeprecatedHeaderValue {
		t.Fatalf("X-API-Token-Deprecated text differs:\n%q\n%q", resources.DeprecatedTokenMessage, tokens.DeprecatedHeaderValue)
	}
	if tokens.DefaultTokenType != "agp" || tokens.MinEntropyLength != tokenformat.MinEntropyLength || tokens.DjbletsTokenLength != tokenformat.MaxVendorLength {
		t.Fatal("token format constants differ from internal/tokenformat")
	}
}

func TestKindOf(t *testing.T) {
	for in, want := range map[error]error{
		tokens.ErrMalformedToken: resources.ErrTokenMalformed,
		tokens.ErrTokenNotFound:  resources.ErrTokenUnknown,
		tokens.ErrTokenInvalid:   resources.ErrTokenInvalidated,
		tokens.ErrTokenExpired:   resources.ErrTokenExpired,
		tokens.ErrUserInactive:   resources.ErrTokenUserInactive,
	} {
		if got := kindOf(in); !errors.Is(got, want) {
			t.Errorf("%v -> %v; want %v", in, got, want)
		}
	}
}
