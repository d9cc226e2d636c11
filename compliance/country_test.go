package compliance

import "testing"

func TestCountryOfPhone(t *testing.T) {
	cases := []struct{ phone, want string }{
		{"+821012345678", "KR"},  // Korean mobile
		{"+8223456789", "KR"},    // Seoul landline
		{"+12125550123", "US"},   // New York
		{"+13105550123", "US"},   // Los Angeles
		{"+14165550123", "CA"},   // Toronto: +1, but not the US
		{"+18765550123", "JM"},   // Jamaica: +1 too
		{"+447400123456", "GB"},  // UK mobile
		{"+447911123456", "GG"},  // Guernsey shares +44 07911
		{"+4915123456789", "DE"}, // German mobile
		{"+33612345678", "FR"},
		{"+819012345678", "JP"},
		{"+8613812345678", "CN"},
		{"+77012345678", "KZ"}, // +7 70x is Kazakhstan, not Russia
		{"+79123456789", "RU"},
		{"+82991234567", "KR"}, // an unlisted range of a code only Korea uses
		{"+19995550123", ""},   // +1 with an area code no country has
		{"+82", ""},            // a code alone
		{"821012345678", ""},   // not E.164
		{"+999123456789", ""},  // no such code
		{"", ""},
		{"+800 1234 5678", ""}, // international freephone: no country
		{"+8210" + "1234567812345678901234567890", ""},
		{"+82\x00101234", ""},
	}
	for _, c := range cases {
		if got := CountryOfPhone(c.phone); got != c.want {
			t.Errorf("CountryOfPhone(%q) = %q, want %q", c.phone, got, c.want)
		}
	}
}

func TestCountryOf(t *testing.T) {
	s := Defaults() // DefaultCountry KR
	cases := []struct{ explicit, phone, want string }{
		{"US", "+821012345678", "US"}, // what is recorded wins
		{" us ", "", "US"},
		{"", "+12125550123", "US"},  // else the phone's
		{"", "+999123456789", "KR"}, // else the default
		{"", "", "KR"},
	}
	for _, c := range cases {
		if got := CountryOf(c.explicit, c.phone, s); got != c.want {
			t.Errorf("CountryOf(%q, %q) = %q, want %q", c.explicit, c.phone, got, c.want)
		}
	}
}
