package mgmtapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/authgate/authgate/resources"
)

// form is the fields of a POST or PUT body, as strings: a form body
// (application/x-www-form-urlencoded or multipart/form-data, as Review
// Board's API takes) or a JSON object whose string values are taken as they
// are, null as absent, and other values as their JSON text (so "policy" may
// be a JSON string or an object).
type form map[string]string

func (f form) has(k string) bool { _, ok := f[k]; return ok }

// readForm parses the request body into a form, or returns a 105 saying
// why it cannot.
func readForm(c *gin.Context) (form, *resources.APIError) {
	bad := func(msg string) *resources.APIError {
		return resources.InvalidFormData(nil).WithMessage(msg)
	}
	mt, _, _ := mime.ParseMediaType(c.ContentType())
	switch mt {
	case "application/json":
		body, err := io.ReadAll(c.Request.Body)
		if err != nil {
			return nil, bad(bodyError(err))
		}
		var obj map[string]json.RawMessage
		dec := json.NewDecoder(bytes.NewReader(body))
		if err := dec.Decode(&obj); err != nil || obj == nil || dec.More() {
			return nil, bad("The request body must be a JSON object.")
		}
		f := form{}
		for k, v := range obj {
			var s string
			switch {
			case string(v) == "null" && k == "policy":
				// Djblets' JSONField reads NULL as {}: a null policy
				// means full access, as in token create and policy
				// check. See docs/migrating-from-review-board.md,
				// "Other parity details".
				f[k] = "null"
			case string(v) == "null":
				continue
			case json.Unmarshal(v, &s) == nil:
				f[k] = s
			default:
				f[k] = string(v)
			}
		}
		return f, nil
	case "", "application/x-www-form-urlencoded", "multipart/form-data":
		var err error
		if mt == "multipart/form-data" {
			err = c.Request.ParseMultipartForm(1 << 20)
		} else {
			err = c.Request.ParseForm()
		}
		if err != nil {
			return nil, bad(bodyError(err))
		}
		f := form{}
		for k, vs := range c.Request.PostForm {
			if len(vs) > 0 {
				f[k] = vs[len(vs)-1]
			}
		}
		return f, nil
	}
	return nil, bad("Unsupported Content-Type " + strconv.Quote(mt) + "; send application/x-www-form-urlencoded, multipart/form-data or application/json.")
}

func bodyError(err error) string {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return "The request body is too large."
	}
	return "The request body could not be read."
}

// parseExpires reads an "expires" field: RFC 3339, or "" for never
// (Review Board: an empty string means null).
func parseExpires(s string) (*time.Time, string) {
	if s == "" {
		return nil, ""
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return nil, "Enter a valid date/time in RFC 3339 format, such as 2030-01-02T15:04:05Z."
	}
	t = t.UTC()
	return &t, ""
}

// parseBool reads a boolean field the way Djblets' BooleanFieldType does:
// true/1 and false/0 (case-insensitive).
func parseBool(s string) (bool, bool) {
	switch s {
	case "true", "True", "TRUE", "1":
		return true, true
	case "false", "False", "FALSE", "0":
		return false, true
	}
	return false, false
}
