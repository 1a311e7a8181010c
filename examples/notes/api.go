package main

import (
	"net/http"
	"slices"
	"strconv"
	"unicode/utf8"
)

// caller is what the handlers learn about an authenticated request from
// the access layer (guard.go), which has already decided that the caller
// may use this method on this note.
type caller struct {
	// User is the person the request acts for; "" for a client acting for
	// no one (client_credentials).
	User string
	// Client is the OAuth2 client; "" for an API token.
	Client string
	// Denied lists, sorted, the note IDs the caller's API-token policy
	// names and denies for GET; lists leave them out.
	Denied []string
}

// name is how notes and comments record their author.
func (c caller) name() string {
	if c.User != "" {
		return c.User
	}
	return "client:" + c.Client
}

func (c caller) sees(id int64) bool {
	_, hidden := slices.BinarySearch(c.Denied, strconv.FormatInt(id, 10))
	return !hidden
}

// handlerFunc is an API handler behind the access layer.
type handlerFunc func(w http.ResponseWriter, r *http.Request, who caller)

// route is one API endpoint; {id} in path is the note ID, which the
// access layer also hands to the caller's API-token policy as the object
// ID (comments belong to their note, so they are guarded as the note).
type route struct {
	method, path string
	h            handlerFunc
}

// Field limits, so one request cannot fill the server's memory.
const (
	maxTitle    = 200
	maxText     = 10000
	maxBodySize = 64 << 10
)

// api serves the notes API in Djblets' envelope.
type api struct{ notes *store }

func (a *api) routes() []route {
	return []route{
		{http.MethodGet, "/api/notes/", a.listNotes},
		{http.MethodPost, "/api/notes/", a.createNote},
		{http.MethodGet, "/api/notes/{id}/", a.getNote},
		{http.MethodPut, "/api/notes/{id}/", a.replaceNote},
		{http.MethodPatch, "/api/notes/{id}/", a.patchNote},
		{http.MethodDelete, "/api/notes/{id}/", a.deleteNote},
		{http.MethodGet, "/api/notes/{id}/comments/", a.listComments},
		{http.MethodPost, "/api/notes/{id}/comments/", a.createComment},
	}
}

func noteJSON(n note) map[string]any {
	self := "/api/notes/" + strconv.FormatInt(n.ID, 10) + "/"
	return map[string]any{
		"id": n.ID, "title": n.Title, "text": n.Text, "author": n.Author,
		"created": n.Created, "updated": n.Updated,
		"links": map[string]any{
			"self":     map[string]string{"href": self, "method": http.MethodGet},
			"comments": map[string]string{"href": self + "comments/", "method": http.MethodGet},
		},
	}
}

func (a *api) listNotes(w http.ResponseWriter, _ *http.Request, who caller) {
	out := []map[string]any{}
	for _, n := range a.notes.list() {
		if who.sees(n.ID) {
			out = append(out, noteJSON(n))
		}
	}
	writeOK(w, http.StatusOK, map[string]any{"notes": out, "total_results": len(out)})
}

// noteID reads {id}; an ID that is not canonical decimal names no note.
func noteID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, ok := parseID(r.PathValue("id"))
	if !ok {
		writeFail(w, errDoesNotExist)
	}
	return id, ok
}

func (a *api) getNote(w http.ResponseWriter, r *http.Request, _ caller) {
	id, ok := noteID(w, r)
	if !ok {
		return
	}
	n, ok := a.notes.get(id)
	if !ok {
		writeFail(w, errDoesNotExist)
		return
	}
	writeOK(w, http.StatusOK, map[string]any{"note": noteJSON(n)})
}

func (a *api) createNote(w http.ResponseWriter, r *http.Request, who caller) {
	f, ok := readNoteFields(w, r, true)
	if !ok {
		return
	}
	n := a.notes.create(*f.title, f.textOr(""), who.name())
	writeOK(w, http.StatusCreated, map[string]any{"note": noteJSON(n)})
}

// replaceNote is PUT: the whole note (a missing text becomes empty).
func (a *api) replaceNote(w http.ResponseWriter, r *http.Request, _ caller) {
	a.change(w, r, true)
}

// patchNote is PATCH: only the fields given.
func (a *api) patchNote(w http.ResponseWriter, r *http.Request, _ caller) {
	a.change(w, r, false)
}

func (a *api) change(w http.ResponseWriter, r *http.Request, replace bool) {
	id, ok := noteID(w, r)
	if !ok {
		return
	}
	f, ok := readNoteFields(w, r, replace)
	if !ok {
		return
	}
	n, ok := a.notes.update(id, func(n *note) {
		if f.title != nil {
			n.Title = *f.title
		}
		if replace || f.text != nil {
			n.Text = f.textOr("")
		}
	})
	if !ok {
		writeFail(w, errDoesNotExist)
		return
	}
	writeOK(w, http.StatusOK, map[string]any{"note": noteJSON(n)})
}

func (a *api) deleteNote(w http.ResponseWriter, r *http.Request, _ caller) {
	id, ok := noteID(w, r)
	if !ok {
		return
	}
	if !a.notes.delete(id) {
		writeFail(w, errDoesNotExist)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *api) listComments(w http.ResponseWriter, r *http.Request, _ caller) {
	id, ok := noteID(w, r)
	if !ok {
		return
	}
	cs, ok := a.notes.comments(id)
	if !ok {
		writeFail(w, errDoesNotExist)
		return
	}
	if cs == nil {
		cs = []comment{}
	}
	writeOK(w, http.StatusOK, map[string]any{"comments": cs, "total_results": len(cs)})
}

func (a *api) createComment(w http.ResponseWriter, r *http.Request, who caller) {
	id, ok := noteID(w, r)
	if !ok {
		return
	}
	form, ok := readBody(w, r)
	if !ok {
		return
	}
	text, has := form["text"]
	fields := map[string][]string{}
	switch {
	case !has || text == "":
		fields["text"] = []string{"This field is required."}
	case utf8.RuneCountInString(text) > maxText:
		fields["text"] = []string{"Ensure this value has at most " + strconv.Itoa(maxText) + " characters."}
	}
	if len(fields) > 0 {
		writeFail(w, errInvalidForm(fields))
		return
	}
	c, ok := a.notes.addComment(id, text, who.name())
	if !ok {
		writeFail(w, errDoesNotExist)
		return
	}
	writeOK(w, http.StatusCreated, map[string]any{"comment": c})
}

// noteFields are the writable fields of a note; nil means not given.
type noteFields struct{ title, text *string }

func (f noteFields) textOr(def string) string {
	if f.text == nil {
		return def
	}
	return *f.text
}

// readNoteFields reads and checks title and text; needTitle for POST and
// PUT. On failure it has answered 400 (code 105, per-field messages).
func readNoteFields(w http.ResponseWriter, r *http.Request, needTitle bool) (noteFields, bool) {
	form, ok := readBody(w, r)
	if !ok {
		return noteFields{}, false
	}
	var f noteFields
	fields := map[string][]string{}
	if v, ok := form["title"]; ok {
		f.title = &v
	}
	if v, ok := form["text"]; ok {
		f.text = &v
	}
	switch {
	case f.title == nil && needTitle, f.title != nil && *f.title == "":
		fields["title"] = []string{"This field is required."}
	case f.title != nil && utf8.RuneCountInString(*f.title) > maxTitle:
		fields["title"] = []string{"Ensure this value has at most " + strconv.Itoa(maxTitle) + " characters."}
	}
	if f.text != nil && utf8.RuneCountInString(*f.text) > maxText {
		fields["text"] = []string{"Ensure this value has at most " + strconv.Itoa(maxText) + " characters."}
	}
	if !needTitle && f.title == nil && f.text == nil {
		fields["title"] = []string{"Give title, text or both."}
	}
	if len(fields) > 0 {
		writeFail(w, errInvalidForm(fields))
		return noteFields{}, false
	}
	return f, true
}
