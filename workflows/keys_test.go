package workflows

import "testing"

func TestSplitKeyReadsRunnerKeys(t *testing.T) {
	for _, c := range []struct{ prefix, step, action string }{
		{"happycall:12:345", "3d", "sms"},
		{"happycall:12:345", "1mo", "call"},
		{"birthday:7:e9", "greeting-2027", "coupon"},
		{"birthday:7:e9", "card", "email-2026"},
		{"welcome_back:3:e1", "greeting", "sms"},
	} {
		r := &runner{keyPrefix: c.prefix}
		step, action := SplitKey(r.key(c.step, c.action))
		if step != c.step || action != c.action {
			t.Errorf("SplitKey(%q) = %q, %q", r.key(c.step, c.action), step, action)
		}
	}
}
