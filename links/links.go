// Package links signs the links dangol puts in front of customers (the
// unsubscribe link of a marketing mail, later the preference page): the
// token in the URL is the customer's only key, so it must be unforgeable,
// expire, and say nothing about the customer beyond a numeric id.
package links

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// DefaultLifetime is how long a link works: a mail read months after it was
// sent must still let its reader unsubscribe.
const DefaultLifetime = 90 * 24 * time.Hour

// MinSecretLen is the shortest secret accepted: HMAC-SHA256 keys shorter
// than its output weaken it.
const MinSecretLen = 32

// MaxTokenLen bounds what Verify looks at; a token dangol issues is 47
// characters, so anything longer is refused before it is decoded.
const MaxTokenLen = 200

// Channels and purposes a link may name.
const (
	ChannelSMS       = "sms"
	ChannelEmail     = "email"
	PurposeMarketing = "marketing"
	// PurposePreferences is the preference page's link: the customer sees
	// and changes every channel's consent with it, so an unsubscribe
	// link (PurposeMarketing) never opens it, nor it an unsubscribe.
	// Channel is the channel of the message that carried it.
	PurposePreferences = "preferences"
)

var (
	// ErrForged: the token was not issued with this secret (or was
	// altered, truncated, or is not a token at all).
	ErrForged = errors.New("links: token is not genuine")
	// ErrExpired: the token is genuine but its time is over.
	ErrExpired = errors.New("links: token has expired")
	// ErrSecret: the secret is too short to sign or verify with.
	ErrSecret = fmt.Errorf("links: secret must be at least %d bytes", MinSecretLen)
)

// Claims is what a token says: whose link it is, for which channel and
// purpose, and until when it works.
type Claims struct {
	CustomerID int64
	Channel    string // sms or email
	Purpose    string // marketing or preferences
	// Expires is kept to the second.
	Expires time.Time
}

// The token is base64url (no padding) of
//
//	version(1) customerID(8, big endian) channel(1) purpose(1) expires(8, unix seconds) mac(16)
//
// where mac is HMAC-SHA256 over everything before it, cut to 128 bits
// (RFC 2104 §5 allows truncation to half the output; 128 bits is far beyond
// what an online guesser can try) to keep the link short enough for an SMS.
const (
	version    = 1
	payloadLen = 1 + 8 + 1 + 1 + 8
	macLen     = 16
	tokenBytes = payloadLen + macLen
)

var (
	channelCodes = map[string]byte{ChannelSMS: 1, ChannelEmail: 2}
	// Codes are never reused: a token signed by an older release keeps
	// its meaning, and one with a code this release does not know is
	// refused.
	purposeCodes = map[string]byte{PurposeMarketing: 1, PurposePreferences: 2}
)

var encoding = base64.RawURLEncoding.Strict()

// Validate reports whether c can be signed.
func (c Claims) Validate() error {
	if c.CustomerID <= 0 {
		return fmt.Errorf("links: customer id %d is not positive", c.CustomerID)
	}
	if channelCodes[c.Channel] == 0 {
		return fmt.Errorf("links: channel %q is not sms or email", c.Channel)
	}
	if purposeCodes[c.Purpose] == 0 {
		return fmt.Errorf("links: purpose %q is not marketing or preferences", c.Purpose)
	}
	if c.Expires.IsZero() || c.Expires.Unix() <= 0 {
		return errors.New("links: expiry is not set")
	}
	return nil
}

// Sign returns the token for c. Claims that fail Validate, or a secret
// shorter than MinSecretLen, are a programming error and panic: callers
// that take claims from elsewhere call Validate first.
func Sign(secret []byte, c Claims) string {
	if len(secret) < MinSecretLen {
		panic(ErrSecret)
	}
	if err := c.Validate(); err != nil {
		panic(err)
	}
	b := make([]byte, payloadLen, tokenBytes)
	b[0] = version
	binary.BigEndian.PutUint64(b[1:9], uint64(c.CustomerID))
	b[9] = channelCodes[c.Channel]
	b[10] = purposeCodes[c.Purpose]
	binary.BigEndian.PutUint64(b[11:19], uint64(c.Expires.Unix()))
	return encoding.EncodeToString(append(b, mac(secret, b)...))
}

// Verify checks token and returns its claims. A token that is not exactly
// one dangol signed with secret is ErrForged; a genuine one whose expiry is
// not after now is ErrExpired (with its claims, so a page can say whose
// link it was without acting on it).
func Verify(secret []byte, token string, now time.Time) (Claims, error) {
	if len(secret) < MinSecretLen {
		return Claims{}, ErrSecret
	}
	if len(token) > MaxTokenLen || len(token) != encoding.EncodedLen(tokenBytes) {
		return Claims{}, ErrForged
	}
	b, err := encoding.DecodeString(token)
	if err != nil || len(b) != tokenBytes {
		return Claims{}, ErrForged
	}
	payload, sum := b[:payloadLen], b[payloadLen:]
	if !hmac.Equal(sum, mac(secret, payload)) {
		return Claims{}, ErrForged
	}
	// Past the MAC, only dangol's own encoder wrote these bytes; an
	// unknown version or code means another release's token, which this
	// one cannot honour.
	id := binary.BigEndian.Uint64(payload[1:9])
	exp := binary.BigEndian.Uint64(payload[11:19])
	if payload[0] != version || id == 0 || id > math.MaxInt64 || exp == 0 || exp > math.MaxInt64 {
		return Claims{}, ErrForged
	}
	c := Claims{CustomerID: int64(id), Expires: time.Unix(int64(exp), 0).UTC()}
	for name, code := range channelCodes {
		if code == payload[9] {
			c.Channel = name
		}
	}
	for name, code := range purposeCodes {
		if code == payload[10] {
			c.Purpose = name
		}
	}
	if c.Channel == "" || c.Purpose == "" {
		return Claims{}, ErrForged
	}
	if !now.Before(c.Expires) {
		return c, ErrExpired
	}
	return c, nil
}

func mac(secret, payload []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write(payload)
	return m.Sum(nil)[:macLen]
}
