package policy

import "strings"

// ValidationError reports why a policy document was rejected.
//
// Message is Djblets' message, byte for byte, where Djblets has one
// (docs/api-tokens.md, "Policy validation"). Pointer is an RFC 6901 JSON pointer to the
// value at fault: the offending value itself, or for a missing key the
// object that lacks it ("" is the whole document).
type ValidationError struct {
	Message string
	Pointer string
}

// Error returns Message, so the error text matches Djblets'.
func (e *ValidationError) Error() string { return e.Message }

// Warning is a legal but probably unintended construct in a policy, such as
// an allow-only section that restricts nothing. Warnings never make a
// policy invalid.
type Warning struct {
	Message string
	Pointer string
}

// String returns the message followed by the pointer.
func (w Warning) String() string {
	if w.Pointer == "" {
		return w.Message
	}
	return w.Message + " (at " + w.Pointer + ")"
}

// pointer builds an RFC 6901 JSON pointer from reference tokens.
func pointer(tokens ...string) string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		for i := 0; i < len(t); i++ {
			// RFC 6901 §3: "~" is written "~0" and "/" is written "~1".
			switch t[i] {
			case '~':
				b.WriteString("~0")
			case '/':
				b.WriteString("~1")
			default:
				b.WriteByte(t[i])
			}
		}
	}
	return b.String()
}
