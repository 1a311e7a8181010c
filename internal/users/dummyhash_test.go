package users

import "testing"

// TestDummyHashCostsLikeARealOne: the hash verified for unknown usernames
// has exactly the parameters, salt length and key length of a real one, so
// verifying it costs the same (the timing does not tell an unknown username
// from a wrong password), and it matches no password tried here.
func TestDummyHashCostsLikeARealOne(t *testing.T) {
	real, err := HashPassword("a-real-password-1234")
	if err != nil {
		t.Fatal(err)
	}
	want, err := parseHash(real)
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseHash(dummyHash)
	if err != nil {
		t.Fatalf("dummy hash %q does not parse: %v", dummyHash, err)
	}
	if got.memory != want.memory || got.time != want.time || got.threads != want.threads ||
		len(got.salt) != len(want.salt) || len(got.key) != len(want.key) {
		t.Fatalf("dummy hash parameters %+v differ from a real hash's %+v", got, want)
	}
	for _, pw := range []string{"", "authgate-dummy-password", "a-real-password-1234"} {
		if VerifyPassword(dummyHash, pw) {
			t.Errorf("dummy hash matches %q", pw)
		}
	}
}
