package audience

import (
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// FieldError names the filter field at fault as a JSON path rooted at
// "audience" (audience.grades[1], audience.min_total_spend), so the API
// can point a marketer at it.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Limits Validate enforces.
const (
	// MaxListLen bounds Stores and Categories (each becomes one array
	// parameter; the bound keeps a filter a marketer's list, not a dump).
	MaxListLen = 100
	// MaxDays bounds the day counts (100 years), so "now - N days" stays
	// a valid timestamp.
	MaxDays = 36500
	// MaxCount bounds the purchase counts so they fit PostgreSQL's int.
	MaxCount = 1_000_000_000
	// maxNameLen bounds one store or category name.
	maxNameLen = 200
)

// spendPattern is a non-negative decimal with at most 2 decimals, as the
// purchases' amounts are stored (numeric(14,2)).
var spendPattern = regexp.MustCompile(`^\d{1,12}(\.\d{1,2})?$`)

// Consent channels and lifecycles a filter may name.
var (
	consents   = map[string]bool{"": true, "sms": true, "email": true, "call": true}
	lifecycles = map[string]bool{"": true, "active": true, "dormant": true}
)

// Validate checks the filter; the error is a *FieldError.
func (f Filter) Validate() error {
	for _, c := range []struct {
		field string
		v     *int
		max   int
		unit  string
	}{
		{"last_purchase_older_than_days", f.LastPurchaseOlderThanDays, MaxDays, "days"},
		{"last_purchase_newer_than_days", f.LastPurchaseNewerThanDays, MaxDays, "days"},
		{"min_purchases", f.MinPurchases, MaxCount, "purchases"},
		{"max_purchases", f.MaxPurchases, MaxCount, "purchases"},
	} {
		if c.v == nil {
			continue
		}
		if *c.v < 0 {
			return fieldErr(c.field, "must be 0 or more")
		}
		if *c.v > c.max {
			return fieldErr(c.field, fmt.Sprintf("must be at most %d %s", c.max, c.unit))
		}
	}
	if o, n := f.LastPurchaseOlderThanDays, f.LastPurchaseNewerThanDays; o != nil && n != nil && *o >= *n {
		return fieldErr("last_purchase_newer_than_days",
			"must be greater than last_purchase_older_than_days (a last purchase between the two), or no customer matches")
	}
	if f.MinPurchases != nil && f.MaxPurchases != nil && *f.MinPurchases > *f.MaxPurchases {
		return fieldErr("max_purchases", "must be at least min_purchases")
	}

	spends := []struct {
		field string
		v     *string
	}{
		{"min_total_spend", f.MinTotalSpend},
		{"max_total_spend", f.MaxTotalSpend},
		{"min_avg_spend", f.MinAvgSpend},
		{"max_avg_spend", f.MaxAvgSpend},
	}
	for _, c := range spends {
		if c.v != nil && !spendPattern.MatchString(*c.v) {
			return fieldErr(c.field, `must be a decimal string such as "150000" or "9900.50" (at most 12 digits and 2 decimals)`)
		}
	}
	if spendGreater(f.MinTotalSpend, f.MaxTotalSpend) {
		return fieldErr("max_total_spend", "must be at least min_total_spend")
	}
	if spendGreater(f.MinAvgSpend, f.MaxAvgSpend) {
		return fieldErr("max_avg_spend", "must be at least min_avg_spend")
	}

	for i, g := range f.Grades {
		if g != "A" && g != "B" && g != "C" {
			return fieldErr(fmt.Sprintf("grades[%d]", i), "must be A, B or C")
		}
	}
	if err := checkNames("stores", f.Stores); err != nil {
		return err
	}
	if err := checkNames("categories", f.Categories); err != nil {
		return err
	}
	if !consents[f.Consent] {
		return fieldErr("consent", "must be sms, email or call")
	}
	if !lifecycles[f.Lifecycle] {
		return fieldErr("lifecycle", "must be active or dormant")
	}
	return nil
}

func fieldErr(field, msg string) *FieldError {
	return &FieldError{Field: "audience." + field, Message: msg}
}

// spendGreater reports min > max for two valid decimal strings (either
// may be unset). Decimals are compared exactly, never as floats.
func spendGreater(min, max *string) bool {
	if min == nil || max == nil {
		return false
	}
	a, okA := new(big.Rat).SetString(*min)
	b, okB := new(big.Rat).SetString(*max)
	return okA && okB && a.Cmp(b) > 0
}

func checkNames(field string, names []string) error {
	if len(names) > MaxListLen {
		return fieldErr(field, fmt.Sprintf("must list at most %d names", MaxListLen))
	}
	for i, n := range names {
		switch {
		case strings.TrimSpace(n) == "":
			return fieldErr(fmt.Sprintf("%s[%d]", field, i), "must not be empty")
		case len(n) > maxNameLen:
			return fieldErr(fmt.Sprintf("%s[%d]", field, i), fmt.Sprintf("must be at most %d bytes", maxNameLen))
		}
	}
	return nil
}

// Query is a parameterised SQL boolean expression and its arguments.
type Query struct {
	// Where is a boolean expression over
	//
	//	customers c LEFT JOIN customer_stats s ON s.customer_id = c.id
	//
	// that refers to its values only as placeholders $firstArg,
	// $firstArg+1, ... It is TRUE for the customers the filter selects
	// and FALSE or NULL for the others, so use it in a WHERE clause (AND
	// it with other conditions) but do not negate it.
	Where string
	// Args are the placeholders' values, in order.
	Args []any
}

// Compile validates f and turns it into a Query whose placeholders start
// at $firstArg (so a caller can put its own parameters first).
//
// Days count back from now in now's location (calendar days: now.AddDate).
// Customers who never bought have no last purchase, so they are neither
// lapsed nor recent; their purchase count and total spend are 0, and they
// have no average spend, so any average bound excludes them.
func Compile(f Filter, now time.Time, firstArg int) (Query, error) {
	if err := f.Validate(); err != nil {
		return Query{}, err
	}
	if firstArg < 1 {
		return Query{}, fmt.Errorf("audience: firstArg %d: placeholders start at $1", firstArg)
	}
	b := builder{next: firstArg}
	if d := f.LastPurchaseOlderThanDays; d != nil {
		b.add("s.last_purchase_at < %s::timestamptz", now.AddDate(0, 0, -*d))
	}
	if d := f.LastPurchaseNewerThanDays; d != nil {
		b.add("s.last_purchase_at >= %s::timestamptz", now.AddDate(0, 0, -*d))
	}
	if n := f.MinPurchases; n != nil {
		b.add("coalesce(s.purchase_count, 0) >= %s::int", *n)
	}
	if n := f.MaxPurchases; n != nil {
		b.add("coalesce(s.purchase_count, 0) <= %s::int", *n)
	}
	if v := f.MinTotalSpend; v != nil {
		b.add("coalesce(s.total_spend, 0) >= %s::numeric", *v)
	}
	if v := f.MaxTotalSpend; v != nil {
		b.add("coalesce(s.total_spend, 0) <= %s::numeric", *v)
	}
	// nullif: no purchases, no average (NULL, so the bound excludes them).
	if v := f.MinAvgSpend; v != nil {
		b.add("s.total_spend / nullif(s.purchase_count, 0) >= %s::numeric", *v)
	}
	if v := f.MaxAvgSpend; v != nil {
		b.add("s.total_spend / nullif(s.purchase_count, 0) <= %s::numeric", *v)
	}
	if len(f.Grades) > 0 {
		b.add("s.grade = ANY(%s::text[])", f.Grades)
	}
	if len(f.Stores) > 0 {
		b.add("EXISTS (SELECT 1 FROM purchases p WHERE p.customer_id = c.id AND p.store = ANY(%s::text[]))", f.Stores)
	}
	if len(f.Categories) > 0 {
		b.add("EXISTS (SELECT 1 FROM purchases p WHERE p.customer_id = c.id AND p.category = ANY(%s::text[]))", f.Categories)
	}
	if f.HasBirthday != nil {
		if *f.HasBirthday {
			b.terms = append(b.terms, "c.birthday IS NOT NULL")
		} else {
			b.terms = append(b.terms, "c.birthday IS NULL")
		}
	}
	if f.Consent != "" {
		// Containment, not (consent -> channel -> 'granted') = true: the
		// planner estimates @> from the column's statistics (the other
		// form is a default guess of 0.5 %, which chose nested loops for
		// counts and parallel plans for pages) and a GIN index can serve
		// it. It selects the same rows: only an object whose "granted" is
		// the JSON true; a missing channel, null, "true" or a malformed
		// value is not granted, never a cast error (TestConsentContainment).
		//
		// The document is the parameter, not built in SQL: a function of
		// the channel would be evaluated again for every row scanned.
		b.add("c.consent @> %s::jsonb", consentGranted(f.Consent))
	}
	if f.Lifecycle != "" {
		b.add("c.lifecycle = %s::text", f.Lifecycle)
	}
	if len(b.terms) == 0 {
		return Query{Where: "TRUE"}, nil
	}
	return Query{Where: "(" + strings.Join(b.terms, ")\n\tAND (") + ")", Args: b.args}, nil
}

// builder numbers placeholders; values only ever enter Args.
type builder struct {
	next  int
	terms []string
	args  []any
}

// add appends a term whose one %s is replaced by the next placeholder.
func (b *builder) add(term string, value any) {
	b.terms = append(b.terms, fmt.Sprintf(term, "$"+strconv.Itoa(b.next)))
	b.args = append(b.args, value)
	b.next++
}

// consentGranted is the jsonb document a customer's consent contains when
// channel is granted: {"<channel>":{"granted":true}}. The channel is one
// Validate accepted; json.Marshal quotes it all the same.
func consentGranted(channel string) string {
	doc, err := json.Marshal(map[string]map[string]bool{channel: {"granted": true}})
	if err != nil {
		panic(err) // a map of strings and booleans always marshals
	}
	return string(doc)
}
