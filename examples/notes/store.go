package main

import (
	"cmp"
	"slices"
	"strconv"
	"sync"
	"time"
)

// note is one note; its comments live with it.
type note struct {
	ID       int64     `json:"id"`
	Title    string    `json:"title"`
	Text     string    `json:"text"`
	Author   string    `json:"author"`
	Created  time.Time `json:"created"`
	Updated  time.Time `json:"updated"`
	comments []comment
}

// comment is one comment on a note.
type comment struct {
	ID      int64     `json:"id"`
	Text    string    `json:"text"`
	Author  string    `json:"author"`
	Created time.Time `json:"created"`
}

// store keeps the notes in memory. IDs are assigned 1, 2, 3, … in creation
// order and never reused, so an API-token policy naming note "4" keeps
// meaning the same note after others are deleted.
type store struct {
	mu       sync.Mutex
	notes    map[int64]*note
	lastNote int64
	lastCmt  int64
	now      func() time.Time
}

func newStore() *store {
	return &store{notes: map[int64]*note{}, now: time.Now}
}

// parseID accepts only the canonical decimal form of a positive ID
// ("4", not "04" or "+4"). A policy compares object IDs as raw strings,
// so a second spelling of the same note would slip past a rule naming
// "4".
func parseID(s string) (int64, bool) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != s {
		return 0, false
	}
	return id, true
}

func (s *store) list() []note {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]note, 0, len(s.notes))
	for _, n := range s.notes {
		out = append(out, *n)
	}
	slices.SortFunc(out, func(a, b note) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

func (s *store) get(id int64) (note, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.notes[id]
	if !ok {
		return note{}, false
	}
	return *n, true
}

func (s *store) create(title, text, author string) note {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastNote++
	now := s.now().UTC()
	n := &note{ID: s.lastNote, Title: title, Text: text, Author: author, Created: now, Updated: now}
	s.notes[n.ID] = n
	return *n
}

// update applies change to note id under the lock.
func (s *store) update(id int64, change func(*note)) (note, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.notes[id]
	if !ok {
		return note{}, false
	}
	change(n)
	n.Updated = s.now().UTC()
	return *n, true
}

func (s *store) delete(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.notes[id]
	delete(s.notes, id)
	return ok
}

func (s *store) comments(id int64) ([]comment, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.notes[id]
	if !ok {
		return nil, false
	}
	return slices.Clone(n.comments), true
}

func (s *store) addComment(id int64, text, author string) (comment, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.notes[id]
	if !ok {
		return comment{}, false
	}
	s.lastCmt++
	c := comment{ID: s.lastCmt, Text: text, Author: author, Created: s.now().UTC()}
	n.comments = append(n.comments, c)
	return c, true
}
