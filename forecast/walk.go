package forecast

import (
	"slices"
	"time"

	"github.com/dangol/dangol/activities"
	"github.com/dangol/dangol/compliance"
	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/enrol"
	"github.com/dangol/dangol/programs"
)

// maxHolds is workflows' bound on how often one message is held: the
// last try is suppressed instead (workflows/enrolment.go).
const maxHolds = 30

// staleAfter is the happy call's: a touch due more than this before the
// enrolment started is skipped (workflows/happycall.go).
const staleAfter = 24 * time.Hour

// decorateRetry is how long the send path holds an advertisement the
// settings cannot label (activities/rules.go verdict).
const decorateRetry = time.Hour

// Ledger is one customer's marketing sends under the frequency cap, in
// time order: what store.TakeMarketingPlace counts.
type Ledger []time.Time

// take is store.TakeMarketingPlace at the moment: a place if fewer than
// max marketing sends fall in the window before it, else when one frees
// (zero when max is 0: never).
func (l *Ledger) take(at time.Time, max int, window time.Duration) (bool, time.Time) {
	var taken []time.Time
	for _, t := range *l {
		if t.After(at.Add(-window)) && !t.After(at) {
			taken = append(taken, t)
		}
	}
	if len(taken) >= max {
		if max > 0 {
			return false, taken[len(taken)-max].Add(window)
		}
		return false, time.Time{}
	}
	i, _ := slices.BinarySearchFunc(*l, at, func(a, b time.Time) int { return a.Compare(b) })
	*l = slices.Insert(*l, i, at)
	return true, time.Time{}
}

// walk is one enrolment's run, as its workflow's runner keeps it: the
// clock, the plan's hours and the spacing since the last message.
type walk struct {
	f      *Forecast
	in     *Input
	held   map[string]error
	c      Customer
	weight float64
	store  string
	ledger *Ledger
	tm     enrol.Timing

	now                            time.Time
	planned, lastSent, lastPlanned time.Time
}

// over reports whether the walk has passed the forecast's end.
func (w *walk) over() bool { return !w.now.Before(w.f.To) }

func (w *walk) inHours(t time.Time) time.Time { return w.tm.InHours(t, w.c.Loc, w.c.ID) }

// waitFor is runner.waitUntil with the daytime-sends and min-spacing
// changes in force: the step's moment in the plan's hours, spaced from
// the last message, then the gate (a customer who allows no channel is
// opted out there). It reports whether the step goes ahead before the
// forecast's end.
func (w *walk) waitFor(at time.Time) bool {
	at = w.inHours(at)
	w.planned = at
	for {
		due := w.inHours(w.tm.Spaced(at, w.lastSent, w.lastPlanned, w.c.Loc))
		if due.After(w.now) {
			w.now = due
		}
		if w.over() || w.c.OptedOut {
			return false
		}
		if w.inHours(w.now).Equal(w.now) {
			return true
		}
		at = w.now
	}
}

// send is runner.send through activities.SendMessage's rules: held
// messages wait for their release and try again; a suppressed one counts
// as sent for the spacing but reaches nobody.
func (w *walk) send(channel, purpose string, ifUnanswered bool) {
	for holds := 0; ; holds++ {
		release, held, sent := w.verdict(channel, purpose, holds == maxHolds)
		if !held {
			if sent {
				w.count(channel, ifUnanswered)
			}
			break
		}
		if release.After(w.now) {
			w.now = release
		}
		if w.over() {
			return
		}
	}
	w.lastSent, w.lastPlanned = w.now, w.planned
}

// verdict is what the send path does with the message now: sent, held
// until release, or neither (suppressed).
func (w *walk) verdict(channel, purpose string, lastTry bool) (release time.Time, held, sent bool) {
	marketing := purpose == compliance.PurposeMarketing
	consent, address := w.c.SMS, w.c.Phone
	if channel == domain.ChannelEmail {
		consent, address = w.c.Email, w.c.Mail
	}
	hold := func(at time.Time) (time.Time, bool, bool) {
		if lastTry {
			return time.Time{}, false, false
		}
		return at, true, false
	}
	switch {
	case marketing && !consent, !address:
		return time.Time{}, false, false
	case w.decorates(channel, purpose) != nil:
		return hold(w.now.Add(decorateRetry))
	}
	s := w.in.Settings
	if at, quiet := compliance.Release(w.now, w.c.Loc, w.c.Country, purpose, w.c.Night, s, w.c.ID); quiet {
		return hold(at)
	}
	if !marketing {
		return time.Time{}, false, true
	}
	ok, freeAt := w.ledger.take(w.now, s.FrequencyCap.Max, s.FrequencyCap.Window())
	switch {
	case ok:
		return time.Time{}, false, true
	case freeAt.IsZero() || w.in.WhenCapped == compliance.WhenCappedSkip:
		return time.Time{}, false, false
	}
	return hold(freeAt.Add(compliance.Spread(w.c.ID, s.ReleaseSpreadMinutes)))
}

// decorates is compliance.Decorate's verdict on an advertisement to the
// customer's country by the channel (the text does not matter to it).
func (w *walk) decorates(channel, purpose string) error {
	key := w.c.Country + "|" + purpose + "|" + channel
	if err, ok := w.held[key]; ok {
		return err
	}
	d := compliance.Decoration{Country: w.c.Country, Purpose: purpose, Channel: channel, Settings: w.in.Settings}
	if purpose == compliance.PurposeMarketing && channel == domain.ChannelEmail && w.in.CanSignLinks {
		d.UnsubscribeURL, d.PreferencesURL = "https://forecast.invalid/u", "https://forecast.invalid/p"
	}
	_, _, err := compliance.Decorate(d, "subject", "text")
	w.held[key] = err
	if err != nil {
		w.f.Held = append(w.f.Held, "advertising by "+channel+" to customers in "+w.c.Country+" would be held: "+err.Error())
	}
	return err
}

func (w *walk) count(channel string, ifUnanswered bool) {
	i := w.f.week(w.now)
	if i < 0 {
		return
	}
	if w.in.Trace != nil {
		w.in.Trace(Event{CustomerID: w.c.ID, At: w.now, Channel: channel, FallbackSMS: ifUnanswered})
	}
	switch {
	case ifUnanswered:
		w.f.Weeks[i].FallbackSMS += w.weight
	case channel == domain.ChannelSMS:
		w.f.Weeks[i].SMS += w.weight
	default:
		w.f.Weeks[i].Email += w.weight
	}
}

func (w *walk) callTask(at time.Time) {
	if i := w.f.week(at); i >= 0 {
		w.f.Weeks[i].CallTasks[w.store] += w.weight
		if w.in.Trace != nil {
			w.in.Trace(Event{CustomerID: w.c.ID, At: at, Channel: domain.ChannelCall, Store: w.store})
		}
	}
}

// The kinds' processes, as workflows/*.go run them. Each returns when the
// enrolment ends (for a re-entry after the cooldown), and false when it
// runs past the forecast's end.

// happyCall is workflows.HappyCall with no call completed in its window:
// each call's fallback SMS counts as FallbackSMS.
func (w *walk) happyCall(steps []programs.Step, callWindow programs.Offset, purchasedAt time.Time) {
	started := w.now
	for _, step := range steps {
		at := step.Offset.After(purchasedAt, w.c.Loc)
		if at.Before(started.Add(-staleAfter)) {
			continue
		}
		if !w.waitFor(at) {
			return
		}
		due, purpose := w.now, enrol.HappyCallPurpose(step)
		if step.SMS {
			w.send(domain.ChannelSMS, purpose, false)
		}
		if step.Email {
			w.send(domain.ChannelEmail, purpose, false)
		}
		if !step.Call {
			continue
		}
		if !w.c.Call {
			// No call consent: the fallback SMS instead, at once.
			if step.Fallback && w.waitFor(due) {
				w.send(domain.ChannelSMS, purpose, false)
			}
			continue
		}
		w.callTask(due)
		expires := callWindow.After(due, w.c.Loc)
		if expires.After(w.now) {
			w.now = expires
		}
		if step.Fallback && w.waitFor(expires) {
			w.send(domain.ChannelSMS, purpose, true)
		}
	}
}

// welcomeBack is workflows.WelcomeBack with the coupon never used.
func (w *walk) welcomeBack(p enrol.WelcomeBackPlan) (time.Time, bool) {
	if !w.waitFor(w.now) {
		return time.Time{}, false
	}
	expires := activities.CouponExpiresAt(p.Coupon.ValidFor, w.now, w.c.Loc)
	w.send(p.Channel, p.Purpose(programs.StepGreeting), false)
	if at := p.ReminderAt(expires, w.c.Loc); at.After(w.now) {
		if !w.waitFor(at) {
			return time.Time{}, false
		}
		if w.now.Before(expires) {
			w.send(p.Channel, p.Purpose(programs.StepReminder), false)
		}
	}
	if expires.After(w.now) {
		w.now = expires
	}
	return w.now, !w.over()
}

// dormantWakeup is workflows.DormantWakeup with nobody coming back.
func (w *walk) dormantWakeup(p enrol.DormantWakeupPlan) (time.Time, bool) {
	entered := w.now
	for _, step := range p.Steps {
		if !w.waitFor(step.Offset.After(entered, w.c.Loc)) {
			return time.Time{}, false
		}
		w.send(step.Channel, step.PurposeOf(), false)
	}
	return w.now, !w.over()
}

// birthday is workflows.Birthday, year after year: each year's run
// continues as new after the greeting, with no spacing carried over.
func (w *walk) birthday(p enrol.BirthdayPlan) {
	m, d := w.c.BirthMonth, w.c.BirthDay
	if d < 1 || m < time.January || m > time.December || d > programs.DaysIn(2000, m) {
		return
	}
	year, card, _ := p.BirthdayYear(w.now, m, d, w.now.In(w.c.Loc).Year(), enrol.CardPending, w.c.Loc)
	for {
		step, at := programs.StepCard, p.CardAt(year, m, d, w.c.Loc)
		if card != enrol.CardPending {
			step, at = programs.StepGreeting, p.BirthdayAt(year, m, d, w.c.Loc)
		}
		if !w.waitFor(at) {
			return
		}
		if step == programs.StepCard {
			if !w.now.Before(p.BirthdayAt(year, m, d, w.c.Loc)) {
				card = enrol.CardSkipped
				continue
			}
			w.send(domain.ChannelEmail, p.Purpose(programs.StepCard), false)
			card = enrol.CardSent
			continue
		}
		w.send(domain.ChannelSMS, p.Purpose(programs.StepGreeting), false)
		// The next year's run: a new input, no progress carried.
		w.lastSent, w.lastPlanned = time.Time{}, time.Time{}
		year, card, _ = p.BirthdayYear(w.now, m, d, year+1, enrol.CardPending, w.c.Loc)
	}
}

// secondPurchase is workflows.SecondPurchase with no second purchase.
func (w *walk) secondPurchase(p enrol.SecondPurchasePlan) {
	started := w.now
	if !w.waitFor(started) {
		return
	}
	w.send(p.Channel, p.Purpose(programs.StepThankYou), false)
	if !w.waitFor(p.CouponAfter.After(started, w.c.Loc)) {
		return
	}
	w.send(p.Channel, p.Purpose(programs.StepCoupon), false)
}
