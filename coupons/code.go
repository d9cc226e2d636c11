// Package coupons makes coupon codes: unguessable, yet easy to read aloud
// and type at a till.
package coupons

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"strings"
)

// Alphabet leaves out characters people confuse (0/O, 1/I/L, 5/S, 8/B,
// 2/Z): 25 symbols; 12 of them make 55 bits, far beyond guessing at a till
// where each try is a conversation with a cashier.
const Alphabet = "34679ACDEFGHJKMNPQRTUVWXY"

const codeLen = 12

// NewCode returns a fresh code formatted as XXXX-XXXX-XXXX.
func NewCode() (string, error) {
	var b strings.Builder
	max := big.NewInt(int64(len(Alphabet)))
	for i := 0; i < codeLen; i++ {
		if i > 0 && i%4 == 0 {
			b.WriteByte('-')
		}
		n, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", fmt.Errorf("coupon code: %w", err)
		}
		b.WriteByte(Alphabet[n.Int64()])
	}
	return b.String(), nil
}

// Normalize turns what a cashier typed into the stored form: upper case,
// dashes where they belong, spaces and stray dashes dropped.
func Normalize(input string) string {
	var raw []byte
	for _, r := range strings.ToUpper(input) {
		if r == '-' || r == ' ' {
			continue
		}
		if r > 127 {
			return ""
		}
		raw = append(raw, byte(r))
	}
	if len(raw) != codeLen {
		return ""
	}
	for _, c := range raw {
		if !strings.ContainsRune(Alphabet, rune(c)) {
			return ""
		}
	}
	return string(raw[0:4]) + "-" + string(raw[4:8]) + "-" + string(raw[8:12])
}
