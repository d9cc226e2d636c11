// Package uplift compares the conversion of a program's treated customers
// with its held-out control group: the difference in conversion rates and
// its 95 % confidence interval, and whether the groups are big enough to
// tell anything at all. Pure arithmetic, no I/O.
package uplift

import "math"

// z95 is the two-sided 95 % quantile of the standard normal distribution.
const z95 = 1.959963984540054

// Sample-size rule: the normal approximation of a difference of two
// proportions is trusted only when each group has at least MinGroup
// customers and at least MinEvents conversions and MinEvents
// non-conversions (the usual n·p ≥ 5 and n·(1−p) ≥ 5 rule of thumb, with
// a floor on n so a 5-of-6 group is not read as evidence).
const (
	MinGroup  = 30
	MinEvents = 5
)

// Verdicts, in the words a report shows.
const (
	TooSmall       = "too small to tell"
	NotSignificant = "not significant"
	Higher         = "treated convert more"
	Lower          = "treated convert less"
)

// Group is how many customers a group had and how many of them converted.
type Group struct {
	Customers int64
	Converted int64
}

// Rate is the group's conversion rate, 0 for an empty group.
func (g Group) Rate() float64 {
	if g.Customers <= 0 {
		return 0
	}
	return float64(g.Converted) / float64(g.Customers)
}

// enough reports whether the group meets the sample-size rule.
func (g Group) enough() bool {
	return g.Customers >= MinGroup && g.Converted >= MinEvents && g.Customers-g.Converted >= MinEvents
}

// Result is treated compared with control.
type Result struct {
	TreatedRate float64 `json:"treated_rate"`
	ControlRate float64 `json:"control_rate"`
	// Uplift is TreatedRate − ControlRate (a share: 0.05 is 5 points).
	Uplift float64 `json:"uplift"`
	// Low and High bound the 95 % confidence interval of Uplift
	// (two-proportion normal approximation, unpooled standard error).
	// Absent when the groups are too small to tell.
	Low  *float64 `json:"ci95_low,omitempty"`
	High *float64 `json:"ci95_high,omitempty"`
	// TooSmall: either group fails the sample-size rule.
	TooSmall bool `json:"too_small"`
	// Significant: the interval excludes 0.
	Significant bool   `json:"significant"`
	Verdict     string `json:"verdict"`
}

// Compare computes the uplift of treated over control. Counts that make
// no sense (converted outside 0..customers) are treated as too small.
func Compare(treated, control Group) Result {
	r := Result{TreatedRate: treated.Rate(), ControlRate: control.Rate()}
	r.Uplift = r.TreatedRate - r.ControlRate
	if !treated.enough() || !control.enough() || treated.Converted > treated.Customers || control.Converted > control.Customers {
		r.TooSmall, r.Verdict = true, TooSmall
		return r
	}
	p1, n1 := r.TreatedRate, float64(treated.Customers)
	p0, n0 := r.ControlRate, float64(control.Customers)
	se := math.Sqrt(p1*(1-p1)/n1 + p0*(1-p0)/n0)
	low, high := r.Uplift-z95*se, r.Uplift+z95*se
	r.Low, r.High = &low, &high
	switch {
	case low <= 0 && high >= 0:
		r.Verdict = NotSignificant
	case low > 0:
		r.Significant, r.Verdict = true, Higher
	default:
		r.Significant, r.Verdict = true, Lower
	}
	return r
}
