package audience_test

import (
	"encoding/json"
	"errors"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/dangol/dangol/audience"
)

var placeholderRE = regexp.MustCompile(`\$\d+`)

// FuzzAudienceCompile: Compile never panics, refuses only with a
// *FieldError, and a valid filter's SQL depends on which fields are set,
// never on their values: it equals the SQL of the same filter with every
// value replaced by a harmless one, and refers to the values only as the
// placeholders $first... in order, one per argument.
func FuzzAudienceCompile(f *testing.F) {
	for _, s := range []string{
		`{}`,
		`{"last_purchase_older_than_days":90,"consent":"sms","lifecycle":"active"}`,
		`{"last_purchase_older_than_days":30,"last_purchase_newer_than_days":365,"min_purchases":0,"max_purchases":3,
		  "min_total_spend":"0","max_total_spend":"999999999999.99","min_avg_spend":"9900.5","max_avg_spend":"9900.50",
		  "grades":["A","B","C"],"stores":["강남점"],"categories":["가전"],"has_birthday":false,"consent":"call","lifecycle":"dormant"}`,
		`{"stores":["'); DROP TABLE customers; --"],"categories":["$1","%s"]}`,
		`{"min_total_spend":"0; DROP TABLE customers"}`,
		`{"has_birthday":true,"grades":["VIP"]}`,
	} {
		f.Add([]byte(s), uint16(1))
	}
	now := time.Date(2027, 3, 1, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, raw []byte, first uint16) {
		var flt audience.Filter
		if json.Unmarshal(raw, &flt) != nil {
			return
		}
		firstArg := int(first%1000) + 1
		q, err := audience.Compile(flt, now, firstArg)
		if err != nil {
			var fe *audience.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Compile(%s) failed without a FieldError: %v", raw, err)
			}
			return
		}
		want, err := audience.Compile(skeleton(flt), now, firstArg)
		if err != nil {
			t.Fatalf("skeleton of %s: %v", raw, err)
		}
		if q.Where != want.Where || len(q.Args) != len(want.Args) {
			t.Fatalf("Compile(%s) = %q with %d args; a filter with the same fields gives %q with %d", raw, q.Where, len(q.Args), want.Where, len(want.Args))
		}
		for i, p := range placeholderRE.FindAllString(q.Where, -1) {
			if p != "$"+strconv.Itoa(firstArg+i) {
				t.Fatalf("Compile(%s): placeholderRE %d is %s, want $%d: %q", raw, i, p, firstArg+i, q.Where)
			}
			if i >= len(q.Args) {
				t.Fatalf("Compile(%s): placeholderRE %s has no argument", raw, p)
			}
		}
		if n := len(placeholderRE.FindAllString(q.Where, -1)); n != len(q.Args) {
			t.Fatalf("Compile(%s): %d placeholders for %d arguments", raw, n, len(q.Args))
		}
	})
}

// skeleton keeps which fields of f are set (and the booleans, consent and
// lifecycle, which choose among fixed SQL) and replaces every other value.
func skeleton(f audience.Filter) audience.Filter {
	n := func(p *int, v int) *int {
		if p == nil {
			return nil
		}
		return &v
	}
	s := func(p *string) *string {
		if p == nil {
			return nil
		}
		v := "1"
		return &v
	}
	l := func(v []string, x string) []string {
		if len(v) == 0 {
			return v
		}
		return []string{x}
	}
	return audience.Filter{
		LastPurchaseOlderThanDays: n(f.LastPurchaseOlderThanDays, 1),
		LastPurchaseNewerThanDays: n(f.LastPurchaseNewerThanDays, 2),
		MinPurchases:              n(f.MinPurchases, 1),
		MaxPurchases:              n(f.MaxPurchases, 2),
		MinTotalSpend:             s(f.MinTotalSpend),
		MaxTotalSpend:             s(f.MaxTotalSpend),
		MinAvgSpend:               s(f.MinAvgSpend),
		MaxAvgSpend:               s(f.MaxAvgSpend),
		Grades:                    l(f.Grades, "A"),
		Stores:                    l(f.Stores, "x"),
		Categories:                l(f.Categories, "x"),
		HasBirthday:               f.HasBirthday,
		Consent:                   f.Consent,
		Lifecycle:                 f.Lifecycle,
	}
}
