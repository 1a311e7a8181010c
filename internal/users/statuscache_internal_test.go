package users

import "testing"

// TestStatusCacheEpoch: a status read before a drop is never stored after
// it, even when the drop named another user or everyone.
func TestStatusCacheEpoch(t *testing.T) {
	s := &SQLStore{}
	s.EnableStatusCache(nopSubscriber{}, 8)
	c := s.status
	for _, drop := range []string{"7", "8", "*", "garbage"} {
		_, _, epoch := c.get(7) // a miss: the query would start now
		c.dropNotice(drop)
		c.put(epoch, User{ID: 7, IsActive: true})
		if _, ok, _ := c.get(7); ok {
			t.Fatalf("drop %q: a status read before it was stored", drop)
		}
	}
	_, _, epoch := c.get(7)
	c.put(epoch, User{ID: 7, IsActive: true})
	if st, ok, _ := c.get(7); !ok || !st.IsActive {
		t.Fatal("a status read after the last drop was not stored")
	}
}

type nopSubscriber struct{}

func (nopSubscriber) Subscribe(string, func(string)) {}
