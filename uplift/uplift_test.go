package uplift

import (
	"math"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

// TestCompareByHand checks the interval against a hand computation.
//
// Treated: 200 of 1,000 converted, p1 = 0.2. Control: 10 of 100, p0 = 0.1.
// Uplift d = 0.2 − 0.1 = 0.1.
// SE = sqrt(p1(1−p1)/n1 + p0(1−p0)/n0) = sqrt(0.16/1000 + 0.09/100)
//
//	= sqrt(0.00016 + 0.0009) = sqrt(0.00106) = 0.0325576411…
//
// 1.959964 × 0.0325576411 = 0.0638118…
// 95 % CI = 0.1 ± 0.0638118 = [0.0361882, 0.1638118]: excludes 0.
func TestCompareByHand(t *testing.T) {
	r := Compare(Group{Customers: 1000, Converted: 200}, Group{Customers: 100, Converted: 10})
	if r.TooSmall || r.Low == nil || r.High == nil {
		t.Fatalf("%+v: want an interval", r)
	}
	if !near(r.TreatedRate, 0.2) || !near(r.ControlRate, 0.1) || !near(r.Uplift, 0.1) {
		t.Fatalf("rates %+v", r)
	}
	if !near(*r.Low, 0.0361882) || !near(*r.High, 0.1638118) {
		t.Fatalf("interval [%.7f, %.7f], want [0.0361882, 0.1638118]", *r.Low, *r.High)
	}
	if !r.Significant || r.Verdict != Higher {
		t.Fatalf("verdict %q significant %v", r.Verdict, r.Significant)
	}
}

// Treated 60 of 400 (0.15), control 12 of 100 (0.12): d = 0.03,
// SE = sqrt(0.1275/400 + 0.1056/100) = sqrt(0.00031875 + 0.001056)
// = sqrt(0.00137475) = 0.0370776…; ±1.959964×SE = ±0.0726705:
// [−0.0426705, 0.1026705] contains 0.
func TestCompareNotSignificant(t *testing.T) {
	r := Compare(Group{Customers: 400, Converted: 60}, Group{Customers: 100, Converted: 12})
	if r.TooSmall || r.Significant || r.Verdict != NotSignificant {
		t.Fatalf("%+v: want not significant", r)
	}
	if !near(*r.Low, -0.0426705) || !near(*r.High, 0.1026705) {
		t.Fatalf("interval [%.7f, %.7f]", *r.Low, *r.High)
	}
}

func TestCompareLower(t *testing.T) {
	r := Compare(Group{Customers: 1000, Converted: 50}, Group{Customers: 1000, Converted: 150})
	if !r.Significant || r.Verdict != Lower || *r.High >= 0 {
		t.Fatalf("%+v: want a significant drop", r)
	}
}

func TestCompareTooSmall(t *testing.T) {
	for _, tc := range []struct {
		name             string
		treated, control Group
	}{
		{"control under 30", Group{1000, 200}, Group{29, 10}},
		{"treated under 30", Group{29, 10}, Group{1000, 200}},
		{"control under 5 conversions", Group{1000, 200}, Group{100, 4}},
		{"control under 5 non-conversions", Group{1000, 200}, Group{100, 96}},
		{"treated under 5 conversions", Group{1000, 4}, Group{100, 10}},
		{"empty control", Group{1000, 200}, Group{}},
		{"nonsense counts", Group{100, 200}, Group{100, 10}},
	} {
		r := Compare(tc.treated, tc.control)
		if !r.TooSmall || r.Verdict != TooSmall || r.Low != nil || r.Significant {
			t.Errorf("%s: %+v, want too small to tell", tc.name, r)
		}
	}
	// At the thresholds exactly, the rule is met.
	if r := Compare(Group{30, 5}, Group{30, 25}); r.TooSmall {
		t.Errorf("30 customers with 5 and 25 conversions: %+v, want an interval", r)
	}
}
