package forecast

import (
	"errors"
	"slices"
	"time"

	"github.com/dangol/dangol/enrol"
	"github.com/dangol/dangol/programs"
)

// ErrNoSchedule is returned for params of no known kind.
var ErrNoSchedule = errors.New("forecast: the program's kind has no schedule")

// NextSweep is the first run of a segment program's sweep at or after t:
// the daily hour in the sweep's zone (loc, its TimeZone loaded), or the
// next multiple of Every (the schedules' calendar and interval specs,
// schedules/sweep.go).
func NextSweep(sw programs.Sweep, loc *time.Location, t time.Time) time.Time {
	if every := sw.EveryDuration(); every > 0 {
		n := t.UnixNano() / int64(every)
		next := time.Unix(0, n*int64(every))
		if next.Before(t) {
			next = next.Add(every)
		}
		return next
	}
	y, m, d := t.In(loc).Date()
	for i := range 3 {
		if s := enrol.LocalHour(loc, y, m, d+i, sw.Hour); !s.Before(t) {
			return s
		}
	}
	return t
}

// Segment lays out a segment program (welcome back, dormant wake-up,
// birthday) over its audience: each customer enrols at the first sweep,
// runs the kind's process, and enrols again at the first sweep after the
// cooldown once the enrolment ended (a welcome-back whose customer stays
// lapsed; a wake-up only when its audience is not limited to active
// customers, since the wake-up marks them dormant; a birthday never ends).
// Each customer stands for scale customers of the audience (a sample).
func Segment(in Input, audience []Customer, scale float64) (*Forecast, error) {
	seg, ok := in.Params.(programs.Segment)
	if !ok {
		return nil, ErrNoSchedule
	}
	sw := seg.SweepSettings()
	sweepLoc, err := time.LoadLocation(sw.TimeZone)
	if err != nil {
		sweepLoc = time.UTC
	}
	f := New(in)
	held := map[string]error{}
	for _, c := range audience {
		weight := in.Treated(c.ID) * scale
		var ledger Ledger
		for start := NextSweep(sw, sweepLoc, in.From); start.Before(f.To); {
			f.Enrolments += weight
			f.Control += scale - weight
			if weight == 0 {
				// Held out: recorded and ended at once, sent nothing, and
				// in control again at every sweep after the cooldown.
				start = NextSweep(sw, sweepLoc, sw.Cooldown.After(start, sweepLoc))
				continue
			}
			w := &walk{f: f, in: &in, held: held, c: c, weight: weight, ledger: &ledger, now: start}
			var end time.Time
			var ended bool
			switch p := in.Params.(type) {
			case *programs.WelcomeBack:
				w.tm = enrol.PlanWelcomeBack(*p).Timing
				end, ended = w.welcomeBack(enrol.PlanWelcomeBack(*p))
			case *programs.DormantWakeup:
				plan := enrol.PlanDormantWakeup(*p)
				w.tm = plan.Timing
				end, ended = w.dormantWakeup(plan)
				ended = ended && p.Audience.Lifecycle != "active"
			case *programs.Birthday:
				plan := enrol.PlanBirthday(*p)
				w.tm = plan.Timing
				w.birthday(plan)
			default:
				return nil, ErrNoSchedule
			}
			if !ended {
				break
			}
			start = NextSweep(sw, sweepLoc, sw.Cooldown.After(end, sweepLoc))
		}
	}
	return f, nil
}

// projected is one replayed purchase.
type projected struct {
	Purchase
	at time.Time
}

// Events lays out an event program (happy call, second purchase) over
// purchases to come: the purchases of the LookbackDays before in.From
// (those the program would have enrolled: see store.ForecastPurchases),
// each replayed every LookbackDays until the forecast's end, so the rate
// per store, weekday and hour of the last 13 weeks goes on. Each purchase
// stands for scale purchases (a sample). The frequency cap counts each
// customer's sends across their enrolments, taken in start order.
func Events(in Input, purchases []Purchase, scale float64) (*Forecast, error) {
	f := New(in)
	var all []projected
	for _, p := range purchases {
		for k := 1; ; k++ {
			at := p.At.AddDate(0, 0, k*LookbackDays)
			if !at.Before(f.To) {
				break
			}
			if !at.Before(in.From) {
				all = append(all, projected{p, at})
			}
		}
	}
	slices.SortStableFunc(all, func(a, b projected) int { return a.at.Compare(b.at) })
	held := map[string]error{}
	ledgers := map[int64]*Ledger{}
	for _, p := range all {
		c := p.Customer
		weight := in.Treated(c.ID) * scale
		f.Enrolments += weight
		f.Control += scale - weight
		if weight == 0 {
			continue
		}
		l := ledgers[c.ID]
		if l == nil {
			l = &Ledger{}
			ledgers[c.ID] = l
		}
		w := &walk{f: f, in: &in, held: held, c: c, weight: weight, store: p.Store, ledger: l, now: p.at}
		switch params := in.Params.(type) {
		case *programs.HappyCall:
			steps := params.Steps()
			w.tm = enrol.HappyCallTiming(steps, params.CallWindow)
			w.happyCall(steps, params.CallWindow, p.at)
		case *programs.SecondPurchase:
			plan := enrol.PlanSecondPurchase(*params)
			w.tm = plan.Timing
			w.secondPurchase(plan)
		default:
			return nil, ErrNoSchedule
		}
	}
	return f, nil
}
