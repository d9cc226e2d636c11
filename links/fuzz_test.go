package links_test

import (
	"errors"
	"testing"
	"time"

	"github.com/dangol/dangol/links"
)

// FuzzVerify: no input panics; whatever verifies is exactly the token
// dangol would sign for those claims (so no altered token is accepted);
// and a token signed with any other secret never verifies.
func FuzzVerify(f *testing.F) {
	f.Add(links.Sign(secret, claims()), int64(42), uint8(1), int64(1800000000))
	f.Add(links.Sign(other, claims()), int64(7), uint8(0), int64(1))
	f.Add("", int64(0), uint8(2), int64(0))
	f.Add("\x00\xff", int64(-1), uint8(3), int64(-1))
	prefs := claims()
	prefs.Purpose = links.PurposePreferences
	f.Add(links.Sign(secret, prefs), int64(42), uint8(2), int64(1800000000))
	f.Fuzz(func(t *testing.T, token string, id int64, ch uint8, exp int64) {
		c, err := links.Verify(secret, token, now)
		switch {
		case err == nil, errors.Is(err, links.ErrExpired):
			if again := links.Sign(secret, c); again != token {
				t.Fatalf("Verify accepted %q as %+v, which signs as %q", token, c, again)
			}
		case !errors.Is(err, links.ErrForged):
			t.Fatalf("Verify(%q): unexpected error %v", token, err)
		}

		forged := links.Claims{CustomerID: id, Channel: []string{"sms", "email"}[ch%2],
			Purpose: []string{links.PurposeMarketing, links.PurposePreferences}[ch/2%2], Expires: time.Unix(exp, 0)}
		if forged.Validate() != nil {
			return
		}
		if _, err := links.Verify(secret, links.Sign(other, forged), now); !errors.Is(err, links.ErrForged) {
			t.Fatalf("a token signed with another secret: %v, want ErrForged", err)
		}
	})
}
