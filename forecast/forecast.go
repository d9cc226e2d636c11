// Package forecast lays a program that has not started out over the next
// year, week by week: the messages per channel and the call tasks per
// store its workflows would produce for the current customers. It runs no
// workflow: each enrolment's process is walked with the pure functions the
// workflows themselves wait for (enrol.Timing.InHours and Spaced, the
// plans' ReminderAt, BirthdayAt, BirthdayYear, activities.CouponExpiresAt)
// and the rules of the one send path (consent by purpose, an address,
// compliance.Release for quiet hours, the frequency cap). Pure: the
// customers and purchases come from the caller (store/forecast.go).
package forecast

import (
	"fmt"
	"slices"
	"time"

	"github.com/dangol/dangol/activities"
	"github.com/dangol/dangol/compliance"
	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/enrol"
	"github.com/dangol/dangol/programs"
	"github.com/dangol/dangol/store"
)

// Weeks is how many ISO weeks a forecast covers: the week of its start
// (from the start on) and the 52 after it, so at least 364 days and at
// most 371 — the next twelve months.
const Weeks = 53

// LookbackDays is how far back the purchases that project the event
// programs (happy call, second purchase) are read: 13 weeks, so the
// replayed purchases keep their weekday and hour.
const LookbackDays = 91

// Customer is what the forecast knows of one customer: where and when
// messages reach them, and what they allow.
type Customer struct {
	ID      int64
	Loc     *time.Location
	Country string
	// SMS and Email: advertising consent on the channel.
	SMS, Email bool
	// Phone and Mail: an address to send to.
	Phone, Mail bool
	// Call: staff may call (call consent and a number).
	Call bool
	// Night: night-time advertising consent (lifts Korean quiet hours).
	Night bool
	// OptedOut: no channel allowed; the first gate ends the enrolment.
	OptedOut bool
	// BirthMonth and BirthDay: the birthday, BirthDay 0 when unknown.
	BirthMonth time.Month
	BirthDay   int
}

// Places gives customers their country and zone as the send path does
// (activities.CustomerPlace), loading each zone once: a forecast reads
// thousands of customers in a handful of zones.
type Places struct {
	settings compliance.Settings
	zones    map[string]*time.Location
}

// NewPlaces is Places under the settings in force.
func NewPlaces(s compliance.Settings) *Places {
	return &Places{settings: s, zones: map[string]*time.Location{}}
}

// Customer is a stored customer as the send path sees them: country and
// zone from the settings' defaults where the customer has none, consent
// from the customer's record (store.Customer.Consents, OptedOut).
func (p *Places) Customer(c store.Customer) Customer {
	loc, ok := p.zones[c.TimeZone]
	if !ok {
		_, loc = activities.CustomerPlace(store.Customer{TimeZone: c.TimeZone}, p.settings)
		p.zones[c.TimeZone] = loc
	}
	country := compliance.CountryOf(deref(c.Country), deref(c.Phone), p.settings)
	out := Customer{ID: c.ID, Loc: loc, Country: country,
		SMS: c.Consents(domain.ChannelSMS), Email: c.Consents(domain.ChannelEmail),
		Phone: deref(c.Phone) != "", Mail: deref(c.Email) != "",
		Night: c.NightConsent(), OptedOut: c.OptedOut()}
	out.Call = c.Consents(domain.ChannelCall) && out.Phone
	if c.Birthday != nil {
		_, out.BirthMonth, out.BirthDay = c.Birthday.Date()
	}
	return out
}

// FromStore is Places.Customer for one customer.
func FromStore(c store.Customer, s compliance.Settings) Customer {
	return NewPlaces(s).Customer(c)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Purchase is a purchase that enrols its customer in an event program.
type Purchase struct {
	Customer Customer
	Store    string
	At       time.Time
}

// Input is what a forecast is of.
type Input struct {
	// ProgramID decides the holdout exactly (enrol.HeldOut) when the
	// program exists; 0 (a draft) weighs each enrolment by the treated
	// share instead.
	ProgramID int64
	Params    programs.Params
	// Settings are the settings in force for the program (its overrides
	// applied: activities.ProgramSettings), WhenCapped what it does with
	// a capped advertisement.
	Settings   compliance.Settings
	WhenCapped string
	// CanSignLinks: the server can sign unsubscribe links (an advertising
	// mail without one is held as the settings being incomplete).
	CanSignLinks bool
	// From is now; Zone is the zone the weeks are counted in.
	From time.Time
	Zone *time.Location
	// Trace, when set, is told every message and call task counted.
	Trace func(Event)
}

// Event is one message or call task of the forecast.
type Event struct {
	CustomerID int64
	At         time.Time
	// Channel is sms, email, or call for a call task.
	Channel string
	// Store is a call task's; FallbackSMS marks the fallback SMS of a
	// call nobody answered.
	Store       string
	FallbackSMS bool
}

// Week is one ISO week of the forecast.
type Week struct {
	// ISO is the ISO week ("2027-W05"); Start and End bound it in the
	// forecast's zone (the first starts at the forecast's start).
	ISO        string
	Start, End time.Time
	SMS, Email float64
	// FallbackSMS are the happy call's fallback SMS that go only when
	// staff do not reach the customer in the call window.
	FallbackSMS float64
	// CallTasks per store.
	CallTasks map[string]float64
}

// Forecast is the answer.
type Forecast struct {
	From, To time.Time
	Weeks    []Week
	// Enrolments counts the enrolments laid out (treated, weighted), and
	// Control those held out.
	Enrolments, Control float64
	// Held lists why advertising would be held whatever the customer
	// (settings incomplete for a country and channel).
	Held []string
}

// New is an empty forecast over the Weeks ISO weeks from in.From.
func New(in Input) *Forecast {
	zone := in.Zone
	if zone == nil {
		zone = time.UTC
	}
	from := in.From.In(zone)
	y, m, d := from.Date()
	monday := time.Date(y, m, d-(int(from.Weekday())+6)%7, 0, 0, 0, 0, zone)
	f := &Forecast{From: in.From}
	for i := range Weeks {
		start := monday.AddDate(0, 0, 7*i)
		end := monday.AddDate(0, 0, 7*(i+1))
		if i == 0 {
			start = from
		}
		iy, iw := start.ISOWeek()
		f.Weeks = append(f.Weeks, Week{ISO: fmt.Sprintf("%04d-W%02d", iy, iw), Start: start, End: end, CallTasks: map[string]float64{}})
	}
	f.To = f.Weeks[len(f.Weeks)-1].End
	return f
}

// week is the index of the week t falls in, or -1 outside the forecast.
func (f *Forecast) week(t time.Time) int {
	if t.Before(f.From) || !t.Before(f.To) {
		return -1
	}
	i, _ := slices.BinarySearchFunc(f.Weeks, t, func(w Week, t time.Time) int {
		switch {
		case !t.Before(w.End):
			return -1
		case t.Before(w.Start):
			return 1
		}
		return 0
	})
	if i >= len(f.Weeks) {
		return -1
	}
	return i
}

// Treated is the weight of an enrolment of the customer in the program
// that is not held out: 0 or 1 for a program with an id, the treated share
// for a draft (whose control group depends on the id it will get).
func (in Input) Treated(customerID int64) float64 {
	percent := in.Params.Measurement().Holdout()
	if in.ProgramID != 0 {
		if enrol.HeldOut(in.ProgramID, customerID, percent) {
			return 0
		}
		return 1
	}
	return 1 - float64(percent)/100
}
