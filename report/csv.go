package report

import (
	"encoding/csv"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/dangol/dangol/compliance"
	"github.com/dangol/dangol/domain"
)

// Outcomes with a column of their own; any other outcome is counted in
// finished_other.
var csvOutcomes = []string{"converted", "expired", "stopped", "opted_out", "completed", "erased", "dormant", "no_birthday"}

// Hold-back reasons with a column of their own, and their column names.
var csvReasons = []struct{ reason, column string }{
	{compliance.ReasonNoConsent, "held_back_no_consent"},
	{compliance.ReasonQuietHours, "held_back_quiet_hours"},
	{compliance.ReasonCapped, "held_back_capped"},
}

// column is one fixed CSV column.
type column struct {
	name  string
	value func(f Figures) string
}

func count(n int64) string  { return strconv.FormatInt(n, 10) }
func rate(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
func optional(x *float64) string {
	if x == nil {
		return ""
	}
	return rate(*x)
}

// fixedColumns are the CSV's columns that every report has, in order.
func fixedColumns() []column {
	cols := []column{
		{"store", func(f Figures) string { return cell(f.Store) }},
		{"treated", func(f Figures) string { return count(f.Enrolments.Treated) }},
		{"control", func(f Figures) string { return count(f.Enrolments.Control) }},
		{"active", func(f Figures) string { return count(f.Enrolments.Active) }},
	}
	for _, o := range csvOutcomes {
		cols = append(cols, column{"finished_" + o, func(f Figures) string { return count(f.Enrolments.Finished[o]) }})
	}
	cols = append(cols, column{"finished_other", func(f Figures) string {
		var n int64
		for o, c := range f.Enrolments.Finished {
			if !slices.Contains(csvOutcomes, o) {
				n += c
			}
		}
		return count(n)
	}})
	for _, ch := range []string{domain.ChannelSMS, domain.ChannelEmail} {
		for _, b := range []struct {
			name string
			get  func(c *Channel) int64
		}{
			{"total", func(c *Channel) int64 { return c.Total }},
			{"in_flight", func(c *Channel) int64 { return c.InFlight }},
			{"sent", func(c *Channel) int64 { return c.Sent }},
			{"delivered", func(c *Channel) int64 { return c.Delivered }},
			{"failed", func(c *Channel) int64 { return c.Failed }},
			{"ambiguous", func(c *Channel) int64 { return c.Ambiguous }},
			{"held", func(c *Channel) int64 { return c.Held }},
			{"suppressed", func(c *Channel) int64 { return c.Suppressed }},
		} {
			cols = append(cols, column{ch + "_" + b.name, func(f Figures) string { return count(b.get(f.Messages[ch])) }})
		}
	}
	cols = append(cols, column{"sms_segments_sent", func(f Figures) string { return count(f.Messages[domain.ChannelSMS].SegmentsSent) }})
	for _, r := range csvReasons {
		cols = append(cols, column{r.column, func(f Figures) string { return count(heldBack(f, r.reason)) }})
	}
	cols = append(cols, column{"held_back_other", func(f Figures) string {
		var n int64
		for _, ch := range f.Messages {
			for reason, c := range ch.HeldBack {
				if !slices.ContainsFunc(csvReasons, func(r struct{ reason, column string }) bool { return r.reason == reason }) {
					n += c
				}
			}
		}
		return count(n)
	}})
	ct := func(name string, get func(c CallTasks) int64) column {
		return column{name, func(f Figures) string { return count(get(f.CallTasks)) }}
	}
	cols = append(cols,
		ct("call_tasks_created", func(c CallTasks) int64 { return c.Created }),
		ct("call_tasks_escalations", func(c CallTasks) int64 { return c.Escalations }),
		ct("call_tasks_completed", func(c CallTasks) int64 { return c.Completed }),
		ct("call_tasks_completed_in_time", func(c CallTasks) int64 { return c.CompletedInTime }),
		ct("call_tasks_open", func(c CallTasks) int64 { return c.Open }),
		ct("call_tasks_overdue", func(c CallTasks) int64 { return c.Overdue }),
		ct("call_tasks_expired", func(c CallTasks) int64 { return c.Expired }),
		ct("call_tasks_cancelled", func(c CallTasks) int64 { return c.Cancelled }),
		ct("call_outcome_reached", func(c CallTasks) int64 { return c.Outcomes[domain.OutcomeReached] }),
		ct("call_outcome_no_answer", func(c CallTasks) int64 { return c.Outcomes[domain.OutcomeNoAnswer] }),
		ct("call_outcome_complaint", func(c CallTasks) int64 { return c.Outcomes[domain.OutcomeComplaint] }),
		column{"coupons_issued", func(f Figures) string { return count(f.Coupons.Issued) }},
		column{"coupons_redeemed", func(f Figures) string { return count(f.Coupons.Redeemed) }},
		column{"coupon_redemption_rate", func(f Figures) string { return rate(f.Coupons.RedemptionRate) }},
		column{"coupons_redeemed_with_order", func(f Figures) string { return count(f.Coupons.RedeemedWithOrder) }},
		column{"treated_converted", func(f Figures) string { return count(f.Conversions.Treated.Converted) }},
		column{"treated_conversion_rate", func(f Figures) string { return rate(f.Conversions.Treated.Rate) }},
		column{"treated_purchases", func(f Figures) string { return count(f.Conversions.Treated.Purchases) }},
		column{"control_converted", func(f Figures) string { return count(f.Conversions.Control.Converted) }},
		column{"control_conversion_rate", func(f Figures) string { return rate(f.Conversions.Control.Rate) }},
		column{"control_purchases", func(f Figures) string { return count(f.Conversions.Control.Purchases) }},
		column{"uplift", func(f Figures) string { return rate(f.Uplift.Uplift) }},
		column{"uplift_ci95_low", func(f Figures) string { return optional(f.Uplift.Low) }},
		column{"uplift_ci95_high", func(f Figures) string { return optional(f.Uplift.High) }},
		column{"uplift_verdict", func(f Figures) string { return f.Uplift.Verdict }},
	)
	return cols
}

func heldBack(f Figures, reason string) int64 {
	var n int64
	for _, ch := range f.Messages {
		n += ch.HeldBack[reason]
	}
	return n
}

// amountIn finds the money of a currency in a list ("0.00" if none).
func amountIn(ms []Money, currency string, perCustomer bool) string {
	for _, m := range ms {
		if m.Currency == currency {
			if perCustomer {
				return m.PerCustomer
			}
			return m.Amount
		}
	}
	if perCustomer {
		return ""
	}
	return "0.00"
}

// WriteCSV writes the report as CSV: a header, the "all" row, then one
// row per store by name. The fixed columns come first (see the README),
// then for each currency in the report, alphabetically,
// treated_revenue_<CUR>, treated_revenue_per_customer_<CUR>,
// control_revenue_<CUR>, control_revenue_per_customer_<CUR>,
// redeemed_revenue_<CUR>, then for each step, in the order steps were
// first reached, step_<key>_reached and step_<key>_converted_after.
func WriteCSV(w io.Writer, r Report) error {
	rows := append([]Figures{r.All}, r.Stores...)
	var currencies []string
	for _, ms := range [][]Money{r.All.Conversions.Treated.Revenue, r.All.Conversions.Control.Revenue, r.All.Coupons.RedeemedRevenue} {
		for _, m := range ms {
			if !slices.Contains(currencies, m.Currency) {
				currencies = append(currencies, m.Currency)
			}
		}
	}
	slices.Sort(currencies)
	cols := fixedColumns()
	for _, c := range currencies {
		cols = append(cols,
			column{"treated_revenue_" + c, func(f Figures) string { return amountIn(f.Conversions.Treated.Revenue, c, false) }},
			column{"treated_revenue_per_customer_" + c, func(f Figures) string {
				return perCustomer(f.Conversions.Treated, c)
			}},
			column{"control_revenue_" + c, func(f Figures) string { return amountIn(f.Conversions.Control.Revenue, c, false) }},
			column{"control_revenue_per_customer_" + c, func(f Figures) string {
				return perCustomer(f.Conversions.Control, c)
			}},
			column{"redeemed_revenue_" + c, func(f Figures) string { return amountIn(f.Coupons.RedeemedRevenue, c, false) }},
		)
	}
	for _, s := range r.All.Steps {
		cols = append(cols,
			column{"step_" + s.Step + "_reached", func(f Figures) string { return count(stepOf(f, s.Step).Reached) }},
			column{"step_" + s.Step + "_converted_after", func(f Figures) string { return count(stepOf(f, s.Step).ConvertedAfter) }},
		)
	}
	cw := csv.NewWriter(w)
	header := make([]string, len(cols))
	for i, c := range cols {
		header[i] = cell(c.name)
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	for _, f := range rows {
		rec := make([]string, len(cols))
		for i, c := range cols {
			rec[i] = c.value(f)
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// cell keeps a text a spreadsheet would run as a formula (a store named
// "=HYPERLINK(…)") as text, by the usual leading apostrophe.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// perCustomer is a group's revenue per customer in a currency: "0.00"
// when the group had customers but no revenue in it, "" when it had none.
func perCustomer(g Group, currency string) string {
	if v := amountIn(g.Revenue, currency, true); v != "" {
		return v
	}
	if g.Customers > 0 {
		return "0.00"
	}
	return ""
}

func stepOf(f Figures, key string) Step {
	for _, s := range f.Steps {
		if s.Step == key {
			return s
		}
	}
	return Step{}
}
