package enrol

import (
	"time"

	"github.com/dangol/dangol/programs"
)

// The moments below are pure functions of an enrolment's pinned plan and
// its progress: the workflows wait for them and the forecast (package
// forecast) lays them out over a year without running a workflow, so both
// give the same answer.

// Spaced is the earliest moment a step planned at the moment may go:
// MinSpacing after the enrolment's last message (lastSent, which was
// planned for lastPlanned), or as far after it as the plan put the two
// apart, whichever is sooner. No message yet (lastSent zero): at.
func (tm Timing) Spaced(at, lastSent, lastPlanned time.Time, loc *time.Location) time.Time {
	if lastSent.IsZero() {
		return at
	}
	earliest := tm.MinSpacing.After(lastSent, loc)
	if byPlan := lastSent.Add(at.Sub(lastPlanned)); byPlan.Before(earliest) {
		earliest = byPlan
	}
	if earliest.After(at) {
		return earliest
	}
	return at
}

// ReminderAt is when a welcome-back's reminder goes for a coupon that
// expires at the moment: ReminderBefore earlier; a reminder counted in
// days or months goes on its day at the send hour (a coupon expires at the
// end of a day, and a reminder just before midnight helps nobody).
func (p WelcomeBackPlan) ReminderAt(expires time.Time, loc *time.Location) time.Time {
	at := p.ReminderBefore.Before(expires, loc)
	if p.ReminderBefore.Exact == 0 {
		y, m, d := at.In(loc).Date()
		at = time.Date(y, m, d, p.Timing.From, 0, 0, 0, loc)
	}
	return at
}

// BirthdayAt is the year's birthday at the plan's send hour in loc; Feb 29
// falls on Feb 28 in other years.
func (p BirthdayPlan) BirthdayAt(year int, month time.Month, day int, loc *time.Location) time.Time {
	d := min(day, programs.DaysIn(year, month))
	return time.Date(year, month, d, p.Timing.From, 0, 0, 0, loc)
}

// CardAt is when the year's card goes: CardBefore the birthday.
func (p BirthdayPlan) CardAt(year int, month time.Month, day int, loc *time.Location) time.Time {
	return p.CardBefore.Before(p.BirthdayAt(year, month, day, loc), loc)
}

// Where a birthday run's card for the year stands (kept in
// Progress.Stage across runs).
const (
	CardPending = ""
	CardSent    = "sent"
	CardSkipped = "skipped"
)

// BirthdayYear finds the birthday to work towards from now: a birthday
// already gone by this year moves to the next (its card pending again),
// and a card whose moment has passed is skipped for the year (skipped
// reports it; a card already sent is never sent again). A card skipped
// before comes back pending first: a corrected date may bring it ahead.
func (p BirthdayPlan) BirthdayYear(now time.Time, month time.Month, day, year int, card string, loc *time.Location) (int, string, bool) {
	for p.BirthdayAt(year, month, day, loc).Before(now) {
		year++
		card = CardPending
	}
	if card == CardSkipped {
		card = CardPending
	}
	if card == CardPending && p.CardAt(year, month, day, loc).Before(now) {
		return year, CardSkipped, true
	}
	return year, card, false
}
