package activities_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/dangol/dangol/activities"
	"github.com/dangol/dangol/links"
)

func TestUnsubscribeURL(t *testing.T) {
	secret := []byte("activities-link-secret-0123456789abcdef")
	a := &activities.Activities{LinkSecret: secret, PublicBaseURL: "https://shop.example/"}
	start := time.Now()
	u, err := a.UnsubscribeURL(77, "email")
	if err != nil {
		t.Fatal(err)
	}
	token, ok := strings.CutPrefix(u, "https://shop.example/u/")
	if !ok {
		t.Fatalf("UnsubscribeURL = %q, want https://shop.example/u/<token>", u)
	}
	c, err := links.Verify(secret, token, start)
	if err != nil {
		t.Fatal(err)
	}
	if c.CustomerID != 77 || c.Channel != "email" || c.Purpose != links.PurposeMarketing {
		t.Fatalf("claims %+v", c)
	}
	// Works for the default lifetime from now, not beyond.
	if life := c.Expires.Sub(start); life < links.DefaultLifetime-2*time.Second || life > links.DefaultLifetime+time.Second {
		t.Fatalf("the link lives %v, want %v", life, links.DefaultLifetime)
	}

	for name, bad := range map[string]struct {
		a       *activities.Activities
		id      int64
		channel string
	}{
		"no secret":    {&activities.Activities{PublicBaseURL: "https://shop.example"}, 1, "email"},
		"short secret": {&activities.Activities{LinkSecret: secret[:31], PublicBaseURL: "https://shop.example"}, 1, "email"},
		"no base URL":  {&activities.Activities{LinkSecret: secret}, 1, "email"},
		"call":         {a, 1, "call"},
		"no customer":  {a, 0, "sms"},
	} {
		_, err := bad.a.UnsubscribeURL(bad.id, bad.channel)
		var ae *temporal.ApplicationError
		if !errors.As(err, &ae) || !ae.NonRetryable() || ae.Type() != activities.ErrTypeBadConfig {
			t.Errorf("%s: err %v, want a non-retryable %s", name, err, activities.ErrTypeBadConfig)
		}
	}
}
