package links_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/links"
)

var (
	secret = []byte("links-test-secret-0123456789abcdef")
	other  = []byte("links-test-secret-0123456789abcdeF")
	now    = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
)

func claims() links.Claims {
	return links.Claims{CustomerID: 42, Channel: links.ChannelEmail, Purpose: links.PurposeMarketing, Expires: now.Add(links.DefaultLifetime)}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	for _, c := range []links.Claims{
		claims(),
		{CustomerID: 1, Channel: links.ChannelSMS, Purpose: links.PurposeMarketing, Expires: time.Unix(1, 0).UTC()},
		{CustomerID: 1<<63 - 1, Channel: links.ChannelEmail, Purpose: links.PurposeMarketing, Expires: time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)},
		{CustomerID: 7, Channel: links.ChannelEmail, Purpose: links.PurposePreferences, Expires: now.Add(time.Hour)},
		{CustomerID: 7, Channel: links.ChannelSMS, Purpose: links.PurposePreferences, Expires: now.Add(time.Hour)},
	} {
		token := links.Sign(secret, c)
		if len(token) > 64 {
			t.Errorf("token %q is %d characters; links must stay short", token, len(token))
		}
		got, err := links.Verify(secret, token, c.Expires.Add(-time.Second))
		if err != nil {
			t.Fatalf("Verify(Sign(%+v)): %v", c, err)
		}
		if got != c {
			t.Fatalf("round trip: got %+v, want %+v", got, c)
		}
	}
}

// A token signed before the preference purpose existed (this one, by the
// release that had only unsubscribe links) still verifies as the same
// unsubscribe link: adding a purpose code changed no other.
func TestEarlierTokensKeepTheirMeaning(t *testing.T) {
	const issued = "AQAAAAAAAAAqAgEAAAAAa3wjQDDWKW5Nl7GMWVbMJ8Y8Ubw"
	got, err := links.Verify(secret, issued, now)
	if err != nil || got != claims() {
		t.Fatalf("Verify(earlier token) = %+v, %v; want %+v", got, err, claims())
	}
	// And an unsubscribe token never reads as a preference one.
	prefs := claims()
	prefs.Purpose = links.PurposePreferences
	if links.Sign(secret, prefs) == issued {
		t.Fatal("a preference token signs like an unsubscribe token")
	}
}

// The token carries the id and codes, nothing a reader could take for
// personal data; the expiry is kept to the second (a sub-second part is
// dropped, not rounded up).
func TestExpiryToTheSecond(t *testing.T) {
	c := claims()
	c.Expires = c.Expires.Add(700 * time.Millisecond)
	got, err := links.Verify(secret, links.Sign(secret, c), now)
	if err != nil {
		t.Fatal(err)
	}
	if want := c.Expires.Truncate(time.Second); !got.Expires.Equal(want) {
		t.Fatalf("expires %v, want %v", got.Expires, want)
	}
}

func TestExpired(t *testing.T) {
	c := claims()
	token := links.Sign(secret, c)
	if _, err := links.Verify(secret, token, c.Expires.Add(-time.Second)); err != nil {
		t.Fatalf("a second before expiry: %v", err)
	}
	for _, at := range []time.Time{c.Expires, c.Expires.Add(time.Hour)} {
		got, err := links.Verify(secret, token, at)
		if !errors.Is(err, links.ErrExpired) {
			t.Fatalf("at %v: err %v, want ErrExpired", at, err)
		}
		if got.CustomerID != c.CustomerID {
			t.Fatalf("an expired token still says whose it was: got %+v", got)
		}
	}
	// An expired token signed with another secret is a forgery first.
	if _, err := links.Verify(secret, links.Sign(other, c), c.Expires.Add(time.Hour)); !errors.Is(err, links.ErrForged) {
		t.Fatalf("expired forgery: %v, want ErrForged", err)
	}
}

func TestForged(t *testing.T) {
	token := links.Sign(secret, claims())
	bad := []string{
		"", "x", token[:len(token)-1], token + "A", strings.Repeat("A", len(token)),
		links.Sign(other, claims()),
		strings.Repeat("A", 10000),
		token[:10] + "\x00" + token[11:],
		token[:10] + "\xff" + token[11:],
		token[:len(token)-1] + "=",
		strings.ToUpper(token),
	}
	// Every single-character change, including the last character's unused
	// low bits (base64url is decoded strictly).
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range len(token) {
		for _, r := range alphabet {
			if byte(r) != token[i] {
				bad = append(bad, token[:i]+string(r)+token[i+1:])
			}
		}
	}
	for _, b := range bad {
		if b == token {
			continue
		}
		if _, err := links.Verify(secret, b, now); !errors.Is(err, links.ErrForged) {
			t.Fatalf("Verify(%q): %v, want ErrForged", b, err)
		}
	}
}

func TestSecretTooShort(t *testing.T) {
	if _, err := links.Verify(secret[:links.MinSecretLen-1], links.Sign(secret, claims()), now); !errors.Is(err, links.ErrSecret) {
		t.Fatalf("short secret: %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("Sign with a short secret did not panic")
		}
	}()
	links.Sign(nil, claims())
}

func TestValidate(t *testing.T) {
	for _, c := range []links.Claims{
		{CustomerID: 0, Channel: "email", Purpose: "marketing", Expires: now},
		{CustomerID: -1, Channel: "email", Purpose: "marketing", Expires: now},
		{CustomerID: 1, Channel: "call", Purpose: "marketing", Expires: now},
		{CustomerID: 1, Channel: "email", Purpose: "service", Expires: now},
		{CustomerID: 1, Channel: "email", Purpose: "marketing"},
		{CustomerID: 1, Channel: "email", Purpose: "marketing", Expires: time.Unix(-5, 0)},
	} {
		if c.Validate() == nil {
			t.Errorf("%+v validated", c)
		}
	}
	if err := claims().Validate(); err != nil {
		t.Fatal(err)
	}
}
