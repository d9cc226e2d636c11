package api

import (
	"strconv"
	"strings"
)

// currencyLimit is what one purchase may amount to in a currency: the
// currency's minor-unit decimals (ISO 4217) and a maximum in whole units,
// far above any real sale but low enough that a few stray zeros are
// caught before they distort a customer's statistics and grade.
type currencyLimit struct {
	decimals int
	max      int64
}

var currencyLimits = map[string]currencyLimit{
	"KRW": {0, 10_000_000_000},
	"JPY": {0, 1_000_000_000},
	"USD": {2, 10_000_000},
	"EUR": {2, 10_000_000},
}

// otherCurrency bounds currencies without an entry of their own.
var otherCurrency = currencyLimit{2, 1_000_000_000}

// checkAmount checks an amount already matching amountPattern against its
// currency's decimals and maximum.
func checkAmount(amount, currency string) error {
	lim, ok := currencyLimits[currency]
	if !ok {
		lim = otherCurrency
	}
	whole, frac, _ := strings.Cut(amount, ".")
	frac = strings.TrimRight(frac, "0") // 1290000.00 KRW is a whole amount
	if len(frac) > lim.decimals {
		if lim.decimals == 0 {
			return badField("amount", currency+" amounts have no decimals")
		}
		return badField("amount", "at most "+strconv.Itoa(lim.decimals)+" decimals in "+currency)
	}
	n, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || n > lim.max || (n == lim.max && frac != "") {
		return badField("amount", "at most "+strconv.FormatInt(lim.max, 10)+" "+currency+" per purchase")
	}
	return nil
}
