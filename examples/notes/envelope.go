package main

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"unicode/utf8"
)

// apiError is a Djblets error: code, HTTP status, type and message. The
// access layer answers authentication and permission failures itself
// (101, 104, 112, …); the handlers need only these.
type apiError struct {
	Code   int                 `json:"code"`
	Status int                 `json:"-"`
	Type   string              `json:"type"`
	Msg    string              `json:"msg"`
	Fields map[string][]string `json:"-"`
}

var errDoesNotExist = apiError{Code: 100, Status: http.StatusNotFound, Type: "resource-does-not-exist", Msg: "Object does not exist"}

func errInvalidForm(fields map[string][]string) apiError {
	return apiError{Code: 105, Status: http.StatusBadRequest, Type: "request-field-error",
		Msg: "One or more fields had errors", Fields: fields}
}

func errBadBody(msg string) apiError {
	e := errInvalidForm(map[string][]string{})
	e.Msg = msg
	return e
}

// writeOK answers {"stat":"ok", …payload}.
func writeOK(w http.ResponseWriter, status int, payload map[string]any) {
	payload["stat"] = "ok"
	writeJSON(w, status, payload)
}

// writeFail answers {"stat":"fail","err":{…}} and, for form errors,
// "fields".
func writeFail(w http.ResponseWriter, e apiError) {
	body := map[string]any{"stat": "fail", "err": e}
	if e.Fields != nil {
		body["fields"] = e.Fields
	}
	writeJSON(w, e.Status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// readBody reads a JSON object of strings or an
// application/x-www-form-urlencoded body (at most maxBodySize). On
// failure it has answered 400 (code 105).
func readBody(w http.ResponseWriter, r *http.Request) (map[string]string, bool) {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodySize))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeFail(w, errBadBody("The request body is larger than 64 KiB."))
		return nil, false
	case err != nil:
		writeFail(w, errBadBody("The request body could not be read."))
		return nil, false
	case !utf8.Valid(raw):
		writeFail(w, errBadBody("The request body is not UTF-8."))
		return nil, false
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/json":
		var obj map[string]string
		if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
			writeFail(w, errBadBody("The request body must be a JSON object of strings."))
			return nil, false
		}
		return obj, true
	case "", "application/x-www-form-urlencoded":
		q, err := url.ParseQuery(string(raw))
		if err != nil {
			writeFail(w, errBadBody("The request body is not valid form data."))
			return nil, false
		}
		out := make(map[string]string, len(q))
		for k, vs := range q {
			if len(vs) != 1 {
				writeFail(w, errInvalidForm(map[string][]string{k: {"Give this field once."}}))
				return nil, false
			}
			out[k] = vs[0]
		}
		return out, true
	}
	writeFail(w, apiError{Code: 105, Status: http.StatusUnsupportedMediaType, Type: "request-field-error",
		Msg: "Send application/json or application/x-www-form-urlencoded."})
	return nil, false
}
