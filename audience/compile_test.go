package audience_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/audience"
)

func ptr[T any](v T) *T { return &v }

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		f     audience.Filter
		field string // "" means valid
	}{
		{"empty", audience.Filter{}, ""},
		{"everything", audience.Filter{
			LastPurchaseOlderThanDays: ptr(30), LastPurchaseNewerThanDays: ptr(365),
			MinPurchases: ptr(0), MaxPurchases: ptr(0),
			MinTotalSpend: ptr("0"), MaxTotalSpend: ptr("999999999999.99"),
			MinAvgSpend: ptr("9900.5"), MaxAvgSpend: ptr("9900.50"),
			Grades: []string{"A", "B", "C"}, Stores: []string{"강남점"}, Categories: []string{"가전"},
			HasBirthday: ptr(false), Consent: "call", Lifecycle: "dormant",
		}, ""},
		{"bad grade", audience.Filter{Grades: []string{"A", "VIP"}}, "audience.grades[1]"},
		{"lowercase grade", audience.Filter{Grades: []string{"a"}}, "audience.grades[0]"},
		{"negative days", audience.Filter{LastPurchaseOlderThanDays: ptr(-1)}, "audience.last_purchase_older_than_days"},
		{"too many days", audience.Filter{LastPurchaseNewerThanDays: ptr(audience.MaxDays + 1)}, "audience.last_purchase_newer_than_days"},
		{"negative count", audience.Filter{MinPurchases: ptr(-3)}, "audience.min_purchases"},
		{"huge count", audience.Filter{MaxPurchases: ptr(audience.MaxCount + 1)}, "audience.max_purchases"},
		{"min > max purchases", audience.Filter{MinPurchases: ptr(3), MaxPurchases: ptr(2)}, "audience.max_purchases"},
		{"older >= newer", audience.Filter{LastPurchaseOlderThanDays: ptr(90), LastPurchaseNewerThanDays: ptr(90)}, "audience.last_purchase_newer_than_days"},
		{"spend not decimal", audience.Filter{MinTotalSpend: ptr("1e6")}, "audience.min_total_spend"},
		{"spend negative", audience.Filter{MaxTotalSpend: ptr("-1")}, "audience.max_total_spend"},
		{"spend 3 decimals", audience.Filter{MinAvgSpend: ptr("1.005")}, "audience.min_avg_spend"},
		{"spend 13 digits", audience.Filter{MaxAvgSpend: ptr("1234567890123")}, "audience.max_avg_spend"},
		{"spend with comma", audience.Filter{MinTotalSpend: ptr("10,000")}, "audience.min_total_spend"},
		{"spend SQL", audience.Filter{MinTotalSpend: ptr("0; DROP TABLE customers")}, "audience.min_total_spend"},
		// Compared as decimals: "9" < "10" although it sorts after it.
		{"min > max total", audience.Filter{MinTotalSpend: ptr("100.01"), MaxTotalSpend: ptr("100")}, "audience.max_total_spend"},
		{"min = max total", audience.Filter{MinTotalSpend: ptr("100.00"), MaxTotalSpend: ptr("100")}, ""},
		{"decimal not text order", audience.Filter{MinAvgSpend: ptr("9"), MaxAvgSpend: ptr("10")}, ""},
		{"min > max avg", audience.Filter{MinAvgSpend: ptr("10"), MaxAvgSpend: ptr("9.99")}, "audience.max_avg_spend"},
		{"consent", audience.Filter{Consent: "kakao"}, "audience.consent"},
		{"lifecycle", audience.Filter{Lifecycle: "lapsed"}, "audience.lifecycle"},
		{"empty store", audience.Filter{Stores: []string{"강남점", " "}}, "audience.stores[1]"},
		{"too many stores", audience.Filter{Stores: names(audience.MaxListLen + 1)}, "audience.stores"},
		{"max stores", audience.Filter{Stores: names(audience.MaxListLen)}, ""},
		{"too many categories", audience.Filter{Categories: names(audience.MaxListLen + 1)}, "audience.categories"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.f.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v, want nil", err)
				}
				return
			}
			var fe *audience.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Validate: %v (%T), want *FieldError on %s", err, err, tc.field)
			}
			if fe.Field != tc.field {
				t.Fatalf("field %q, want %q (message %q)", fe.Field, tc.field, fe.Message)
			}
			if fe.Message == "" || !strings.HasPrefix(fe.Error(), tc.field+": ") {
				t.Fatalf("Error() = %q", fe.Error())
			}
			// Compile refuses what Validate refuses.
			if _, err := audience.Compile(tc.f, time.Now(), 1); !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("Compile: %v, want the same field error", err)
			}
		})
	}
}

func names(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("store-%d", i)
	}
	return out
}

func TestCompileEmpty(t *testing.T) {
	q, err := audience.Compile(audience.Filter{}, time.Now(), 4)
	if err != nil {
		t.Fatal(err)
	}
	if q.Where != "TRUE" || len(q.Args) != 0 {
		t.Fatalf("got %q %v, want TRUE and no args", q.Where, q.Args)
	}
}

var placeholder = regexp.MustCompile(`\$(\d+)`)

func TestCompilePlaceholders(t *testing.T) {
	now := time.Date(2026, 3, 31, 9, 0, 0, 0, time.UTC)
	f := audience.Filter{
		LastPurchaseOlderThanDays: ptr(90), LastPurchaseNewerThanDays: ptr(400),
		MinPurchases: ptr(2), MaxPurchases: ptr(7),
		MinTotalSpend: ptr("1500000"), MaxTotalSpend: ptr("98765432.10"),
		MinAvgSpend: ptr("33333"), MaxAvgSpend: ptr("44444.44"),
		Grades: []string{"A", "B"}, Stores: []string{"강남점", "O'Brien's"}, Categories: []string{"가전"},
		HasBirthday: ptr(true), Consent: "sms", Lifecycle: "dormant",
	}
	for _, first := range []int{1, 3, 10} {
		q, err := audience.Compile(f, now, first)
		if err != nil {
			t.Fatal(err)
		}
		// One placeholder per argument, numbered first, first+1, ... in order.
		var got []int
		for _, m := range placeholder.FindAllStringSubmatch(q.Where, -1) {
			var n int
			fmt.Sscan(m[1], &n)
			got = append(got, n)
		}
		var want []int
		for i := range q.Args {
			want = append(want, first+i)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("first=%d: placeholders %v, want %v in\n%s", first, got, want, q.Where)
		}
		// The arguments carry the values, in field order.
		wantArgs := []any{
			now.AddDate(0, 0, -90), now.AddDate(0, 0, -400), 2, 7, "1500000", "98765432.10", "33333", "44444.44",
			[]string{"A", "B"}, []string{"강남점", "O'Brien's"}, []string{"가전"}, `{"sms":{"granted":true}}`, "dormant",
		}
		if !reflect.DeepEqual(q.Args, wantArgs) {
			t.Fatalf("first=%d: args\n got %#v\nwant %#v", first, q.Args, wantArgs)
		}
		// No value reaches the SQL text.
		for _, v := range []string{"90", "400", "1500000", "98765432", "33333", "44444", "강남점", "O'Brien", "가전", "sms", "dormant", "'A'", "2026"} {
			if strings.Contains(q.Where, v) {
				t.Fatalf("first=%d: value %q appears in the SQL:\n%s", first, v, q.Where)
			}
		}
		if !strings.Contains(q.Where, "c.birthday IS NOT NULL") {
			t.Fatalf("missing birthday term:\n%s", q.Where)
		}
	}
}

func TestCompileTerms(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		f    audience.Filter
		want string
	}{
		{audience.Filter{LastPurchaseOlderThanDays: ptr(90)}, "(s.last_purchase_at < $1::timestamptz)"},
		{audience.Filter{LastPurchaseNewerThanDays: ptr(30)}, "(s.last_purchase_at >= $1::timestamptz)"},
		{audience.Filter{MinPurchases: ptr(2)}, "(coalesce(s.purchase_count, 0) >= $1::int)"},
		{audience.Filter{MaxTotalSpend: ptr("1")}, "(coalesce(s.total_spend, 0) <= $1::numeric)"},
		{audience.Filter{MinAvgSpend: ptr("1")}, "(s.total_spend / nullif(s.purchase_count, 0) >= $1::numeric)"},
		{audience.Filter{Grades: []string{"A"}}, "(s.grade = ANY($1::text[]))"},
		{audience.Filter{Stores: []string{"x"}}, "(EXISTS (SELECT 1 FROM purchases p WHERE p.customer_id = c.id AND p.store = ANY($1::text[])))"},
		{audience.Filter{Categories: []string{"x"}}, "(EXISTS (SELECT 1 FROM purchases p WHERE p.customer_id = c.id AND p.category = ANY($1::text[])))"},
		{audience.Filter{HasBirthday: ptr(false)}, "(c.birthday IS NULL)"},
		{audience.Filter{Consent: "email"}, "(c.consent @> $1::jsonb)"},
		{audience.Filter{Lifecycle: "active"}, "(c.lifecycle = $1::text)"},
	} {
		q, err := audience.Compile(tc.f, now, 1)
		if err != nil {
			t.Fatal(err)
		}
		if q.Where != tc.want {
			t.Errorf("got  %s\nwant %s", q.Where, tc.want)
		}
	}
	if _, err := audience.Compile(audience.Filter{}, now, 0); err == nil {
		t.Fatal("firstArg 0 accepted")
	}
}

// The JSON names are part of stored program params: keep them.
func TestFilterJSON(t *testing.T) {
	raw := `{"last_purchase_older_than_days":90,"last_purchase_newer_than_days":400,"min_purchases":1,"max_purchases":9,` +
		`"min_total_spend":"1","max_total_spend":"2","min_avg_spend":"3","max_avg_spend":"4","grades":["A"],` +
		`"stores":["강남점"],"categories":["가전"],"has_birthday":true,"consent":"sms","lifecycle":"active"}`
	var f audience.Filter
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != raw {
		t.Fatalf("round trip:\n got %s\nwant %s", out, raw)
	}
}
