package resources_test

import (
	"context"
	"testing"

	"github.com/authgate/authgate/resources"
	"github.com/authgate/authgate/resources/dpop"
)

type audienceFree struct{ staticTokens }

func (audienceFree) RequiresAudience() bool { return true }

// NewGuard refuses a configuration it cannot honour as written instead of
// quietly rewriting it.
func TestNewGuardRefusesInvalidConfig(t *testing.T) {
	v, err := dpop.NewVerifier(dpop.Options{})
	if err != nil {
		t.Fatal(err)
	}
	bearer := staticTokens{}
	for name, cfg := range map[string]resources.GuardConfig{
		"realm with a quote":         {Bearer: bearer, Realm: `a"b`},
		"realm with a line break":    {Bearer: bearer, Realm: "a\r\nb"},
		"Basic without Users":        {EnableBasic: true},
		"DPoP without Bearer":        {DPoP: v},
		"remote bearer, no audience": {Bearer: audienceFree{}},
	} {
		if _, err := resources.NewGuard(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := resources.NewGuard(resources.GuardConfig{Bearer: audienceFree{}, Audience: "https://photos.example"}); err != nil {
		t.Fatal(err)
	}
	if _, err := bearer.ValidateBearer(context.Background(), "x"); err == nil {
		t.Fatal("staticTokens accepts unknown tokens")
	}
}
