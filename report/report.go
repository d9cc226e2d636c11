// Package report turns what the database counted for a program's
// enrolments (store.ReportFigures, per store) into the program report:
// per-store and overall figures, rates, revenue per customer, the uplift of
// treated over control, and its CSV form. Pure code: sums of money are
// exact (math/big), never floats.
package report

import (
	"cmp"
	"math/big"
	"slices"
	"time"

	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/store"
	"github.com/dangol/dangol/uplift"
)

// AllStores names the overall row.
const AllStores = "all"

// Report is a program's report over a range of enrolment time.
type Report struct {
	ProgramID         int64     `json:"program_id"`
	From              time.Time `json:"from"`
	To                time.Time `json:"to"`
	Store             string    `json:"store,omitempty"`
	AttributionWindow string    `json:"attribution_window"`
	All               Figures   `json:"all"`
	Stores            []Figures `json:"stores"`
}

// Figures are the report's figures for one store, or all of them.
type Figures struct {
	Store       string              `json:"store"`
	Enrolments  Enrolments          `json:"enrolments"`
	Messages    map[string]*Channel `json:"messages"`
	CallTasks   CallTasks           `json:"call_tasks"`
	Coupons     Coupons             `json:"coupons"`
	Conversions Conversions         `json:"conversions"`
	Uplift      uplift.Result       `json:"uplift"`
	Steps       []Step              `json:"steps"`
}

// Enrolments counts enrolments: treated and control, the treated still
// running (pending or active), and the finished treated by outcome.
type Enrolments struct {
	Treated  int64            `json:"treated"`
	Control  int64            `json:"control"`
	Active   int64            `json:"active"`
	Finished map[string]int64 `json:"finished"`
}

// Channel counts a channel's messages by status and in buckets:
// in_flight (pending, sending, accepted, queued, scheduled), sent,
// delivered (delivered, read, partially_delivered), failed (failed,
// undelivered, canceled), ambiguous (mail whose outcome is unknown), held
// (waiting for quiet hours or the cap to pass) and suppressed (not sent by
// a rule); held_back is held and suppressed by reason.
type Channel struct {
	Total        int64            `json:"total"`
	ByStatus     map[string]int64 `json:"by_status"`
	InFlight     int64            `json:"in_flight"`
	Sent         int64            `json:"sent"`
	Delivered    int64            `json:"delivered"`
	Failed       int64            `json:"failed"`
	Ambiguous    int64            `json:"ambiguous"`
	Held         int64            `json:"held"`
	Suppressed   int64            `json:"suppressed"`
	HeldBack     map[string]int64 `json:"held_back"`
	SegmentsSent int64            `json:"segments_sent"`
}

// CallTasks counts call tasks (happy calls and escalations).
type CallTasks struct {
	Created         int64            `json:"created"`
	Escalations     int64            `json:"escalations"`
	Completed       int64            `json:"completed"`
	CompletedInTime int64            `json:"completed_in_time"`
	Open            int64            `json:"open"`
	Overdue         int64            `json:"overdue"`
	Expired         int64            `json:"expired"`
	Cancelled       int64            `json:"cancelled"`
	Outcomes        map[string]int64 `json:"outcomes"`
}

// Coupons counts coupons and what their redemptions bought.
type Coupons struct {
	Issued         int64   `json:"issued"`
	Redeemed       int64   `json:"redeemed"`
	RedemptionRate float64 `json:"redemption_rate"`
	// RedeemedWithOrder are the redemptions whose order is a recorded
	// purchase; RedeemedRevenue is those orders' amounts.
	RedeemedWithOrder int64   `json:"redeemed_with_order"`
	RedeemedRevenue   []Money `json:"redeemed_revenue"`
}

// Conversions compares the treated with the control group.
type Conversions struct {
	Treated Group `json:"treated"`
	Control Group `json:"control"`
}

// Group is one side of the comparison: enrolments, those with a purchase
// in the attribution window, and what those purchases brought.
type Group struct {
	Customers int64   `json:"customers"`
	Converted int64   `json:"converted"`
	Rate      float64 `json:"rate"`
	Purchases int64   `json:"purchases"`
	Revenue   []Money `json:"revenue"`
}

// Money is an amount in a currency; PerCustomer divides it by the group's
// customers (rounded to 2 places, halves away from zero).
type Money struct {
	Currency    string `json:"currency"`
	Amount      string `json:"amount"`
	PerCustomer string `json:"per_customer,omitempty"`
}

// Step is how many enrolments reached a step and how many converted after.
type Step struct {
	Step           string    `json:"step"`
	Reached        int64     `json:"reached"`
	ConvertedAfter int64     `json:"converted_after"`
	first          time.Time // orders steps: when first reached
}

// Build makes the report from the figures of each store.
func Build(byStore map[string]*store.ReportFigures) (all Figures, stores []Figures) {
	acc := newAcc(AllStores)
	for _, name := range sortedKeys(byStore) {
		a := newAcc(name)
		a.add(byStore[name])
		acc.add(byStore[name])
		stores = append(stores, a.figures())
	}
	return acc.figures(), stores
}

// acc sums figures; money is summed exactly.
type acc struct {
	f                   Figures
	treatedRev, ctrlRev map[string]*big.Rat
	redeemedRev         map[string]*big.Rat
	steps               map[string]*Step
}

func newAcc(name string) *acc {
	return &acc{
		f: Figures{Store: name, Enrolments: Enrolments{Finished: map[string]int64{}},
			Messages:  map[string]*Channel{domain.ChannelSMS: newChannel(), domain.ChannelEmail: newChannel()},
			CallTasks: CallTasks{Outcomes: map[string]int64{domain.OutcomeReached: 0, domain.OutcomeNoAnswer: 0, domain.OutcomeComplaint: 0}},
		},
		treatedRev: map[string]*big.Rat{}, ctrlRev: map[string]*big.Rat{}, redeemedRev: map[string]*big.Rat{}, steps: map[string]*Step{},
	}
}

func newChannel() *Channel {
	return &Channel{ByStatus: map[string]int64{}, HeldBack: map[string]int64{}}
}

func (a *acc) add(fig *store.ReportFigures) {
	f := &a.f
	for _, e := range fig.Enrolments {
		switch {
		case e.Control:
			f.Enrolments.Control += e.N
		case e.Status == domain.EnrolmentEnded:
			f.Enrolments.Treated += e.N
			f.Enrolments.Finished[e.Outcome] += e.N
		default:
			f.Enrolments.Treated += e.N
			f.Enrolments.Active += e.N
		}
	}
	for _, c := range fig.Conversions {
		g := &f.Conversions.Treated
		if c.Control {
			g = &f.Conversions.Control
		}
		g.Converted += c.Converted
	}
	for _, r := range fig.Revenue {
		g, sums := &f.Conversions.Treated, a.treatedRev
		if r.Control {
			g, sums = &f.Conversions.Control, a.ctrlRev
		}
		g.Purchases += r.Purchases
		addMoney(sums, r.Currency, r.Amount)
	}
	for _, m := range fig.Messages {
		ch := f.Messages[m.Channel]
		if ch == nil {
			ch = newChannel()
			f.Messages[m.Channel] = ch
		}
		ch.Total += m.N
		ch.ByStatus[m.Status] += m.N
		ch.SegmentsSent += m.Segments
		switch m.Status {
		case domain.MessagePending, domain.MessageSending, domain.MessageAccepted, domain.MessageQueued, "scheduled":
			ch.InFlight += m.N
		case domain.MessageSent:
			ch.Sent += m.N
		case domain.MessageDelivered, "read", "partially_delivered":
			ch.Delivered += m.N
		case domain.MessageFailed, domain.MessageUndelivered, "canceled":
			ch.Failed += m.N
		case domain.MessageAmbiguous:
			ch.Ambiguous += m.N
		case domain.MessageHeld:
			ch.Held += m.N
			ch.HeldBack[m.Reason] += m.N
		case domain.MessageSuppressed:
			ch.Suppressed += m.N
			ch.HeldBack[m.Reason] += m.N
		}
	}
	for _, t := range fig.CallTasks {
		c := &f.CallTasks
		c.Created += t.N
		if t.Kind == domain.TaskEscalation {
			c.Escalations += t.N
		}
		switch t.Status {
		case domain.TaskCompleted:
			c.Completed += t.N
		case domain.TaskOpen:
			c.Open += t.N
		case domain.TaskExpired:
			c.Expired += t.N
		case domain.TaskCancelled:
			c.Cancelled += t.N
		}
		c.CompletedInTime += t.InTime
		c.Overdue += t.Overdue
		if t.Outcome != "" {
			c.Outcomes[t.Outcome] += t.N
		}
	}
	f.Coupons.Issued += fig.Coupons.Issued
	f.Coupons.Redeemed += fig.Coupons.Redeemed
	for _, r := range fig.Redemptions {
		f.Coupons.RedeemedWithOrder += r.Purchases
		addMoney(a.redeemedRev, r.Currency, r.Amount)
	}
	for _, s := range fig.Steps {
		st := a.steps[s.Step]
		if st == nil {
			st = &Step{Step: s.Step, first: s.First}
			a.steps[s.Step] = st
		}
		st.Reached += s.Reached
		st.ConvertedAfter += s.ConvertedAfter
		if s.First.Before(st.first) {
			st.first = s.First
		}
	}
}

// figures finishes the sums: rates, money, uplift, steps in order.
func (a *acc) figures() Figures {
	f := a.f
	f.Conversions.Treated.Customers = f.Enrolments.Treated
	f.Conversions.Control.Customers = f.Enrolments.Control
	for _, g := range []*Group{&f.Conversions.Treated, &f.Conversions.Control} {
		g.Rate = ratio(g.Converted, g.Customers)
	}
	f.Conversions.Treated.Revenue = moneyList(a.treatedRev, f.Conversions.Treated.Customers)
	f.Conversions.Control.Revenue = moneyList(a.ctrlRev, f.Conversions.Control.Customers)
	f.Coupons.RedemptionRate = ratio(f.Coupons.Redeemed, f.Coupons.Issued)
	f.Coupons.RedeemedRevenue = moneyList(a.redeemedRev, 0)
	f.Uplift = uplift.Compare(
		uplift.Group{Customers: f.Conversions.Treated.Customers, Converted: f.Conversions.Treated.Converted},
		uplift.Group{Customers: f.Conversions.Control.Customers, Converted: f.Conversions.Control.Converted})
	f.Steps = make([]Step, 0, len(a.steps))
	for _, s := range a.steps {
		f.Steps = append(f.Steps, *s)
	}
	slices.SortFunc(f.Steps, func(x, y Step) int {
		return cmp.Or(x.first.Compare(y.first), cmp.Compare(x.Step, y.Step))
	})
	return f
}

func ratio(n, d int64) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / float64(d)
}

func addMoney(sums map[string]*big.Rat, currency, amount string) {
	v, ok := new(big.Rat).SetString(amount)
	if !ok {
		// PostgreSQL's numeric text always parses; anything else is a bug
		// worth seeing rather than a silently wrong total.
		panic("report: amount " + amount + " is not a number")
	}
	if sums[currency] == nil {
		sums[currency] = new(big.Rat)
	}
	sums[currency].Add(sums[currency], v)
}

// moneyList lists sums by currency; customers > 0 adds the amount per
// customer.
func moneyList(sums map[string]*big.Rat, customers int64) []Money {
	out := make([]Money, 0, len(sums))
	for _, c := range sortedKeys(sums) {
		m := Money{Currency: c, Amount: sums[c].FloatString(2)}
		if customers > 0 {
			m.PerCustomer = new(big.Rat).Quo(sums[c], new(big.Rat).SetInt64(customers)).FloatString(2)
		}
		out = append(out, m)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
