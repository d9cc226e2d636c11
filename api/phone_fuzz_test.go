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

// FuzzListPhone checks the normalisation of an 080 list's numbers: what
// it accepts is exactly what the customer API would store for that
// number, so a listed number finds the customer it names; and Korean
// domestic forms mean the same number as E.164.
func FuzzListPhone(f *testing.F) {
	for _, s := range []string{"010-1234-5678", "01012345678", "+82 10-1234-5678", "(010) 1234.5678", "+8201012345678",
		"0", "00000000000", "010-", "+", "82-10-1234-5678", "０１０-1234-5678", "010 1234 5678 ext 9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := listPhone(s)
		if !ok {
			return
		}
		if again, ok := normalizePhone(got); !ok || again != got {
			t.Fatalf("%q listed as %q, which the customer API stores as %q (%v)", s, got, again, ok)
		}
	})
}

func TestListPhoneForms(t *testing.T) {
	for _, s := range []string{"010-1234-5678", "01012345678", "+82 10-1234-5678", "(010) 1234.5678", "+8201012345678", " 010 1234 5678 "} {
		if got, ok := listPhone(s); !ok || got != "+821012345678" {
			t.Errorf("listPhone(%q) = %q, %v; want +821012345678", s, got, ok)
		}
	}
	for _, s := range []string{"", "82-10-1234-5678", "1234", "010-1234-5678 ext 9", "+82+1012345678", "010\x001234"} {
		if got, ok := listPhone(s); ok {
			t.Errorf("listPhone(%q) = %q, want refused", s, got)
		}
	}
}
