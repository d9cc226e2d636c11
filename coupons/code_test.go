package coupons

import (
	"strings"
	"testing"
)

func TestNewCodeIsTypableAndUnique(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 10000; i++ {
		c, err := NewCode()
		if err != nil {
			t.Fatal(err)
		}
		if len(c) != 14 || c[4] != '-' || c[9] != '-' {
			t.Fatalf("code %q is not XXXX-XXXX-XXXX", c)
		}
		if strings.ContainsAny(c, "0O1IL5S8B2Z") {
			t.Fatalf("code %q has an ambiguous character", c)
		}
		if seen[c] {
			t.Fatalf("duplicate code %q after %d", c, i)
		}
		seen[c] = true
		if Normalize(c) != c {
			t.Fatalf("Normalize(%q) = %q", c, Normalize(c))
		}
	}
}

func TestNormalize(t *testing.T) {
	cases := map[string]string{
		"k7qx m3pa 9rtd": "K7QX-M3PA-9RTD",
		"K7QX-M3PA-9RTD": "K7QX-M3PA-9RTD",
		"k7qxm3pa9rtd":   "K7QX-M3PA-9RTD",
		"K7QX-M3PA-9RT":  "",
		"K7QX-M3PA-9RT0": "",
		"한글":             "",
	}
	for in, want := range cases {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}
