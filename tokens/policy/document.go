package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Document is a parsed policy: a JSON value whose objects keep their keys in
// document order, which validation depends on (Djblets (see
// docs/api-tokens.md, "Policy validation", step 7) reports
// the first bad resource in document order). A Document is not validated;
// pass it to Validate or Compile.
type Document struct {
	root *node
}

type kind uint8

const (
	kindNull kind = iota
	kindBool
	kindNumber
	kindString
	kindArray
	kindObject
	kindOther // a Go value with no JSON counterpart (ValidateValue only)
)

// node is one JSON value. Objects are ordered member lists, not maps.
type node struct {
	kind    kind
	text    string // string value, number literal, or "true"/"false"
	elems   []*node
	members []member
}

type member struct {
	key string
	// keyIsString is false only for Go map keys that are not strings
	// (ValidateValue); JSON object keys are always strings.
	keyIsString bool
	val         *node
}

// get returns the value of the string key k, or nil if absent.
func (n *node) get(k string) *node {
	for i := range n.members {
		if n.members[i].keyIsString && n.members[i].key == k {
			return n.members[i].val
		}
	}
	return nil
}

// maxDepth bounds recursion over Go values, which may be cyclic. It matches
// encoding/json's nesting limit for parsed documents.
const maxDepth = 10000

// Parse reads a JSON policy document, keeping object keys in document order.
//
// Invalid JSON gives a *ValidationError with Review Board's wording,
// "The policy is not valid JSON: <parser message>". A duplicate key in any
// object is rejected too (authgate's choice: Python silently keeps the last
// one, and an ambiguous security policy must not be guessed at).
func Parse(data []byte) (*Document, error) {
	// Validate the whole input first (including trailing data) so that the
	// parser message is encoding/json's usual one.
	if err := json.Unmarshal(data, new(json.RawMessage)); err != nil {
		return nil, &ValidationError{Message: "The policy is not valid JSON: " + syntaxMessage(data, err)}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	root, err := parseValue(dec, nil)
	if err != nil {
		return nil, err
	}
	return &Document{root: root}, nil
}

// syntaxMessage renders a JSON syntax error with a line and column, as
// Python's parser message does.
func syntaxMessage(data []byte, err error) string {
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		return err.Error()
	}
	off := int(se.Offset)
	if off > len(data) {
		off = len(data)
	}
	// Offset counts the bytes read, including the offending one.
	at := max(off-1, 0)
	line := 1 + bytes.Count(data[:at], []byte{'\n'})
	col := at - bytes.LastIndexByte(data[:at], '\n')
	return fmt.Sprintf("%s (line %d, column %d)", se.Error(), line, col)
}

// parseValue reads one value from dec. The input is already known to be
// valid JSON, so decoder errors are unexpected but still reported.
func parseValue(dec *json.Decoder, path []string) (*node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, &ValidationError{Message: "The policy is not valid JSON: " + err.Error(), Pointer: pointer(path...)}
	}
	switch t := tok.(type) {
	case nil:
		return &node{kind: kindNull}, nil
	case bool:
		return &node{kind: kindBool, text: strconv.FormatBool(t)}, nil
	case json.Number:
		return &node{kind: kindNumber, text: t.String()}, nil
	case string:
		return &node{kind: kindString, text: t}, nil
	case json.Delim:
		switch t {
		case '[':
			n := &node{kind: kindArray, elems: []*node{}}
			for dec.More() {
				v, err := parseValue(dec, append(path, strconv.Itoa(len(n.elems))))
				if err != nil {
					return nil, err
				}
				n.elems = append(n.elems, v)
			}
			_, err = dec.Token() // ']'
			return n, err
		case '{':
			n := &node{kind: kindObject, members: []member{}}
			var seen map[string]struct{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				if seen == nil {
					seen = make(map[string]struct{})
				}
				if _, dup := seen[k]; dup {
					return nil, &ValidationError{
						Message: describe(path) + " has a duplicate " + strconv.Quote(k) + " key.",
						Pointer: pointer(append(path, k)...),
					}
				}
				seen[k] = struct{}{}
				v, err := parseValue(dec, append(path, k))
				if err != nil {
					return nil, err
				}
				n.members = append(n.members, member{key: k, keyIsString: true, val: v})
			}
			_, err = dec.Token() // '}'
			return n, err
		}
	}
	return nil, &ValidationError{Message: fmt.Sprintf("The policy is not valid JSON: unexpected token %v", tok), Pointer: pointer(path...)}
}

// describe names the object at path the way Djblets' messages do.
func describe(path []string) string {
	switch {
	case len(path) == 0:
		return "The policy"
	case len(path) == 1 && path[0] == "resources":
		return `The policy's "resources" section`
	default:
		return `The "` + strings.Join(path, ".") + `" section`
	}
}

// fromGo converts a Go value (as produced by encoding/json, YAML decoders or
// hand-built literals) into a node. Map keys are visited in sorted order,
// since Go maps have no document order.
func fromGo(v any, depth int) *node {
	if depth > maxDepth {
		return &node{kind: kindOther}
	}
	switch x := v.(type) {
	case nil:
		return &node{kind: kindNull}
	case *Document:
		if x == nil || x.root == nil {
			return &node{kind: kindNull}
		}
		return x.root
	case json.Number:
		return &node{kind: kindNumber, text: x.String()}
	case json.RawMessage:
		if d, err := Parse(x); err == nil {
			return d.root
		}
		return &node{kind: kindOther}
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return &node{kind: kindNull}
		}
		return fromGo(rv.Elem().Interface(), depth+1)
	case reflect.Bool:
		return &node{kind: kindBool, text: strconv.FormatBool(rv.Bool())}
	case reflect.String:
		return &node{kind: kindString, text: rv.String()}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return &node{kind: kindNumber, text: fmt.Sprint(rv.Interface())}
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			return &node{kind: kindNull}
		}
		n := &node{kind: kindArray, elems: make([]*node, rv.Len())}
		for i := range rv.Len() {
			n.elems[i] = fromGo(rv.Index(i).Interface(), depth+1)
		}
		return n
	case reflect.Map:
		if rv.IsNil() {
			return &node{kind: kindNull}
		}
		n := &node{kind: kindObject, members: make([]member, 0, rv.Len())}
		iter := rv.MapRange()
		for iter.Next() {
			k := iter.Key()
			for k.Kind() == reflect.Interface && !k.IsNil() {
				k = k.Elem()
			}
			m := member{val: fromGo(iter.Value().Interface(), depth+1)}
			if k.Kind() == reflect.String {
				m.key, m.keyIsString = k.String(), true
			} else {
				m.key = fmt.Sprint(k.Interface())
			}
			n.members = append(n.members, m)
		}
		slices.SortFunc(n.members, func(a, b member) int {
			if c := strings.Compare(a.key, b.key); c != 0 {
				return c
			}
			switch {
			case a.keyIsString == b.keyIsString:
				return 0
			case a.keyIsString:
				return -1
			default:
				return 1
			}
		})
		return n
	}
	return &node{kind: kindOther}
}

// appendCanonical writes n as compact JSON with object keys sorted, as
// Djblets serialises policies (json.dumps(sort_keys=True)).
func appendCanonical(b []byte, n *node) []byte {
	switch n.kind {
	case kindNull, kindOther:
		return append(b, "null"...)
	case kindBool, kindNumber:
		return append(b, n.text...)
	case kindString:
		return appendString(b, n.text)
	case kindArray:
		b = append(b, '[')
		for i, e := range n.elems {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendCanonical(b, e)
		}
		return append(b, ']')
	default: // kindObject
		ms := slices.Clone(n.members)
		slices.SortFunc(ms, func(x, y member) int { return strings.Compare(x.key, y.key) })
		b = append(b, '{')
		for i, m := range ms {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, m.key)
			b = append(b, ':')
			b = appendCanonical(b, m.val)
		}
		return append(b, '}')
	}
}

// appendString writes s as a JSON string. s is valid UTF-8 (the decoder
// replaces invalid bytes), so only quotes, backslashes and control
// characters need escaping.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
