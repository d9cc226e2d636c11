package compliance

import (
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// maxPhoneBytes bounds what CountryOfPhone parses: an E.164 number is at
// most 15 digits and a '+'; anything much longer is not one.
const maxPhoneBytes = 32

// CountryOfPhone is the ISO 3166-1 alpha-2 country of an E.164 number, or
// "" if it is unknown. It uses libphonenumber's metadata (through
// nyaruka/phonenumbers, already the API's phone parser) rather than a
// table of calling codes, because a calling code is shared: +1 is the US,
// Canada and twenty Caribbean countries, told apart by area code, and +7
// is Russia and Kazakhstan. A number whose code is shared but whose area
// code the metadata does not place is unknown, not guessed (the default
// country applies, see CountryOf).
func CountryOfPhone(e164 string) string {
	if len(e164) > maxPhoneBytes || !strings.HasPrefix(e164, "+") {
		return ""
	}
	n, err := phonenumbers.Parse(e164, "")
	if err != nil {
		return ""
	}
	// A code served by one country gives that country even for a range
	// the metadata does not list; a shared code needs a valid number.
	switch region := phonenumbers.GetRegionCodeForNumber(n); region {
	case "", "ZZ", "001": // 001: non-geographic (+800, +882, ...)
		return ""
	default:
		return region
	}
}

// CountryOf is the customer's country for the rules: the country recorded
// for them, else their phone number's, else the installation's default.
func CountryOf(explicit string, phone string, s Settings) string {
	if c := strings.ToUpper(strings.TrimSpace(explicit)); c != "" {
		return c
	}
	if c := CountryOfPhone(phone); c != "" {
		return c
	}
	return s.DefaultCountry
}
