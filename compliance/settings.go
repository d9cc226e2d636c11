// Package compliance holds the rules every message obeys whatever its
// program or template says (issue 7): purposes, consent, quiet hours, the
// Korean advertising format, segment counting and frequency caps. It is
// pure (no I/O): the settings come from PostgreSQL through store, and the
// one send path (activities.SendMessage) and the workflows' waits apply
// these functions.
package compliance

import "time"

// Purposes of a message. Marketing is advertising (coupons, offers,
// wake-ups, birthday coupons) and needs the channel's advertising consent;
// service is information the customer needs (a purchase thank-you, a
// check-in, an expiry notice for a coupon already given) and needs only a
// valid address.
const (
	PurposeMarketing = "marketing"
	PurposeService   = "service"
)

// Reasons a message is held back. A held message is recorded with its
// reason; it is not an error.
const (
	ReasonNoConsent     = "no consent"
	ReasonQuietHours    = "quiet hours"
	ReasonCapped        = "capped"
	ReasonConsentLapsed = "consent lapsed"
)

// What a program does with a marketing message the frequency cap holds.
const (
	WhenCappedWait = "wait"
	WhenCappedSkip = "skip"
)

// Settings are the operator's rules, one set for the whole installation
// (GET/PUT /v1/settings). A program may tighten them (Overrides), never
// loosen them.
type Settings struct {
	// SenderName opens every Korean advertising message: "(광고)<name>".
	SenderName string `json:"sender_name"`
	// SenderContact (phone or address) is printed in advertising mail.
	SenderContact string `json:"sender_contact"`
	// OptOutNumber is the free opt-out number (080-XXX-XXXX in Korea)
	// that ends a Korean advertising SMS.
	OptOutNumber string `json:"opt_out_number"`
	// DefaultTimeZone and DefaultCountry apply to a customer who has none.
	DefaultTimeZone string `json:"default_time_zone"`
	DefaultCountry  string `json:"default_country"`
	// QuietHours by ISO country code; "*" is every other country.
	QuietHours map[string]QuietHours `json:"quiet_hours"`
	// FrequencyCap counts marketing messages per customer across all
	// programs.
	FrequencyCap FrequencyCap `json:"frequency_cap"`
	// ReconfirmEvery is how often a customer is told they consented to
	// advertising and how to withdraw (Korea: every 2 years), in days.
	ReconfirmEveryDays int `json:"reconfirm_every_days"`
	// ReleaseSpread spreads messages released at the opening of a window
	// (the end of quiet hours, a send hour) over its first minutes, by
	// customer, so 100,000 messages do not leave at 08:00:00.
	ReleaseSpreadMinutes int `json:"release_spread_minutes"`
	// ReportRecipients get every program's report (with its CSV) by mail
	// after each period of ReportEvery; none means no report mails.
	ReportRecipients []string `json:"report_recipients"`
	// ReportEvery is the report mails' period: ReportQuarterly (the
	// default, also for settings stored before it existed),
	// ReportMonthly or ReportWeekly, in DefaultTimeZone.
	ReportEvery string `json:"report_every"`
}

// QuietHours is a daily window in the customer's own time zone in which
// messages of the given purposes wait. Start and End are "HH:MM"; a
// window with Start after End spans midnight; Start == End is no window.
type QuietHours struct {
	Start    string   `json:"start"`
	End      string   `json:"end"`
	Purposes []string `json:"purposes"`
	// NightConsent: a customer's separate night-time consent lifts the
	// window for them (Korean law provides for it; TCPA does not).
	NightConsent bool `json:"night_consent"`
}

// FrequencyCap allows at most Max marketing messages per customer in any
// rolling window of WindowDays days. Max 0 means no marketing at all.
type FrequencyCap struct {
	Max        int `json:"max"`
	WindowDays int `json:"window_days"`
}

// Window is the cap's rolling window as a duration.
func (f FrequencyCap) Window() time.Duration {
	return time.Duration(f.WindowDays) * 24 * time.Hour
}

// Overrides are a program's own, stricter rules (params.compliance).
type Overrides struct {
	// QuietHours replaces the settings' window for every country the
	// program reaches; it must contain each of those windows.
	QuietHours *QuietHours `json:"quiet_hours,omitempty"`
	// FrequencyCap must be no looser than the settings' cap.
	FrequencyCap *FrequencyCap `json:"frequency_cap,omitempty"`
	// WhenCapped is what the program does with a capped marketing
	// message: wait for the window to free (default) or skip it.
	WhenCapped string `json:"when_capped,omitempty"`
}

// Defaults are the lawful starting point: Korean quiet hours 21:00-08:00
// for advertising (lifted by night-time consent), US 08:00-21:00 for all
// messages (TCPA), 2 marketing messages per 7 days, reconfirmation every 2
// years. The sender name, contact and 080 number have no default: until
// they are set, advertising to Korean customers is held ("settings
// incomplete") rather than sent unlawfully.
func Defaults() Settings {
	return Settings{
		DefaultTimeZone: "Asia/Seoul",
		DefaultCountry:  "KR",
		QuietHours: map[string]QuietHours{
			"KR": {Start: "21:00", End: "08:00", Purposes: []string{PurposeMarketing}, NightConsent: true},
			"US": {Start: "21:00", End: "08:00", Purposes: []string{PurposeMarketing, PurposeService}},
		},
		FrequencyCap:         FrequencyCap{Max: 2, WindowDays: 7},
		ReconfirmEveryDays:   730,
		ReleaseSpreadMinutes: 30,
		ReportRecipients:     []string{},
		ReportEvery:          ReportQuarterly,
	}
}
