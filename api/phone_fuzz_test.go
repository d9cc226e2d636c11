package api

import (
	"testing"

	"github.com/nyaruka/phonenumbers"
)

// FuzzPhone checks the phone normalisation a customer's number goes
// through: it never panics, and every number it accepts comes out as
// canonical E.164 (what Twilio is sent months later), which parses back
// to itself and normalises to itself.
func FuzzPhone(f *testing.F) {
	for _, s := range []string{"+821012345678", "+8201012345678", "+16502530000", "+390612345678", "+4407911123456",
		"010-1234-5678", "+82 10 1234 5678", "+82", "+0123456789", "821012345678", "+82101234567890123", "", "+", "＋821012345678"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := normalizePhone(s)
		if !ok {
			if got != "" {
				t.Fatalf("refused %q but returned %q", s, got)
			}
			return
		}
		n, err := phonenumbers.Parse(got, "")
		if err != nil {
			t.Fatalf("%q normalised to %q, which does not parse: %v", s, got, err)
		}
		if canonical := phonenumbers.Format(n, phonenumbers.E164); canonical != got {
			t.Fatalf("%q normalised to %q, whose canonical form is %q", s, got, canonical)
		}
		if again, ok := normalizePhone(got); !ok || again != got {
			t.Fatalf("%q normalised to %q, which normalises to %q (%v)", s, got, again, ok)
		}
	})
}
