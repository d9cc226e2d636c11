package activities

import (
	"testing"
	"time"

	"github.com/dangol/dangol/store"
)

func TestCallAllowed(t *testing.T) {
	phone, empty := "+821012345678", ""
	granted := func(ch ...string) map[string]store.Consent {
		m := map[string]store.Consent{}
		for _, c := range ch {
			m[c] = store.Consent{Granted: true, At: time.Now(), Source: "pos"}
		}
		return m
	}
	for _, c := range []struct {
		name   string
		c      store.Customer
		ok     bool
		reason string
	}{
		{"call consent and a phone", store.Customer{Phone: &phone, Consent: granted("call")}, true, ""},
		{"sms and mail consent only", store.Customer{Phone: &phone, Consent: granted("sms", "email")}, false, "no call consent"},
		{"no consent at all", store.Customer{Phone: &phone}, false, "no call consent"},
		{"call consent withdrawn", store.Customer{Phone: &phone, Consent: map[string]store.Consent{"call": {Granted: false, Source: "app"}}}, false, "no call consent"},
		{"call consent, no phone", store.Customer{Consent: granted("call")}, false, "no phone number"},
		{"call consent, empty phone", store.Customer{Phone: &empty, Consent: granted("call")}, false, "no phone number"},
	} {
		ok, reason := callAllowed(c.c)
		if ok != c.ok || reason != c.reason {
			t.Errorf("%s: callAllowed = %v %q, want %v %q", c.name, ok, reason, c.ok, c.reason)
		}
	}
}
