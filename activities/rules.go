package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dangol/dangol/compliance"
	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/programs"
	"github.com/dangol/dangol/store"
)

// policy is what the rules of issue 7 need to know about one message: the
// settings in force for its program, the customer's country and zone,
// and the message's purpose.
type policy struct {
	settings   compliance.Settings
	whenCapped string
	country    string
	loc        *time.Location
	purpose    string
}

// policyFor takes the loaded settings (the defaults when none or broken
// are stored: a broken settings row must not stop every message, and the
// defaults are the strict ones), tightens them by the program's own
// overrides, and works out the customer's country, zone and the message's
// purpose.
func policyFor(ctx context.Context, req SendRequest, d store.SendData, c store.Customer) (policy, error) {
	s := loadedSettings(ctx, d)
	p := policy{settings: s, whenCapped: compliance.WhenCappedWait, purpose: compliance.PurposeService}
	if req.Template.ProgramID != 0 {
		prog := d.Program
		if prog == nil {
			return policy{}, storeErr("program", store.ErrNotFound)
		}
		p.purpose = req.PurposeOf(prog.Kind)
		if params, err := programs.Decode(prog.Kind, prog.Params); err == nil {
			var loosened error
			p.settings, p.whenCapped, loosened = ProgramSettings(s, params)
			if loosened != nil {
				logger(ctx).Warn("program overrides no longer tighten the settings; using the settings", "program_id", prog.ID, "error", loosened)
			}
		}
	} else if req.Purpose != "" {
		p.purpose = req.Purpose
	}
	p.country, p.loc = CustomerPlace(c, p.settings)
	return p, nil
}

// loadedSettings are the loaded settings, the defaults when the stored
// ones are broken (logged).
func loadedSettings(ctx context.Context, d store.SendData) compliance.Settings {
	if d.SettingsErr != nil {
		logger(ctx).Warn("stored settings are broken; using the defaults", "error", d.SettingsErr)
	}
	return d.Settings
}

// ProgramSettings are the settings tightened by the program's own
// overrides, and what the program does with a capped message. Settings
// tightened after the program was written make its override looser: then
// the settings alone apply, and loosened says why. Pure: the send path
// and the program preview (api) share it.
func ProgramSettings(s compliance.Settings, params programs.Params) (eff compliance.Settings, whenCapped string, loosened error) {
	eff, whenCapped = s, compliance.WhenCappedWait
	o := params.Overrides()
	if e, err := compliance.Effective(s, o); err == nil {
		eff = e
	} else {
		loosened = err
	}
	if o.WhenCapped != "" {
		whenCapped = o.WhenCapped
	}
	return eff, whenCapped, loosened
}

// CustomerPlace is the customer's country (for quiet hours and the
// advertising format) and time zone, the settings' defaults filling what
// the customer lacks (UTC for a zone that cannot be loaded).
func CustomerPlace(c store.Customer, s compliance.Settings) (country string, loc *time.Location) {
	country = compliance.CountryOf(deref(c.Country), deref(c.Phone), s)
	zone := c.TimeZone
	if zone == "" {
		zone = s.DefaultTimeZone
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		loc = time.UTC
	}
	return country, loc
}

// settings are the operator's settings; the defaults when none are
// stored, and also when the stored ones are broken (logged): a broken row
// must not stop every message, and the defaults are the strict ones.
func (a *Activities) settings(ctx context.Context) (compliance.Settings, error) {
	s, err := a.Store.Settings(ctx)
	switch {
	case errors.Is(err, store.ErrSettingsBroken):
		logger(ctx).Warn("stored settings are broken; using the defaults", "error", err)
	case err != nil:
		return s, fmt.Errorf("settings: %w", err)
	}
	return s, nil
}

// decorate adds what the law requires of an advertisement (the Korean
// "(광고)" label, sender, opt-out line; an unsubscribe footer in mail). An
// error is the settings lacking something the advertisement must carry.
// unsubscribe is the one-click link of a marketing mail, the same one its
// footer shows, for its List-Unsubscribe header ("" for anything else).
func (a *Activities) decorate(p policy, channel string, customerID int64, text rendered) (_ rendered, unsubscribe string, _ error) {
	d := compliance.Decoration{Country: p.country, Purpose: p.purpose, Channel: channel, Settings: p.settings}
	if p.purpose == compliance.PurposeMarketing && channel == domain.ChannelEmail {
		// Without a link secret the URL stays empty and Decorate says the
		// settings are incomplete: no advertising mail without a way out.
		d.UnsubscribeURL, _ = a.UnsubscribeURL(customerID, channel)
		d.PreferencesURL, _ = a.PreferencesURL(customerID, channel)
	}
	subject, body, err := compliance.Decorate(d, text.subject, text.body)
	if err != nil {
		return text, "", err
	}
	return rendered{subject: subject, body: body}, d.UnsubscribeURL, nil
}

// verdict is what the rules say of a message nothing has been sent for
// yet: go (nil), or its final or held state, recorded. markSending: a
// message that may go is also marked sending, in the round trip that
// takes its place under the cap (sent; nil when that was not done here).
func (a *Activities) verdict(ctx context.Context, p policy, c store.Customer, msg store.Message, lastTry bool, decorated error, markSending bool) (_ *SendResult, sent *store.Message, _ error) {
	now := time.Now()
	if decorated != nil {
		res, err := a.hold(ctx, msg, "settings incomplete: "+decorated.Error(), now.Add(time.Hour), lastTry)
		return res, nil, err
	}
	if p.purpose == compliance.PurposeMarketing && consentLapsed(c, msg.Channel, p.settings, now) {
		res, err := a.suppress(ctx, msg, compliance.ReasonConsentLapsed)
		return res, nil, err
	}
	if at, held := compliance.Release(now, p.loc, p.country, p.purpose, c.NightConsent(), p.settings, c.ID); held {
		res, err := a.hold(ctx, msg, compliance.ReasonQuietHours, at, lastTry)
		return res, nil, err
	}
	if p.purpose != compliance.PurposeMarketing {
		return nil, nil, nil
	}
	cap := p.settings.FrequencyCap
	var ok bool
	var freeAt time.Time
	var err error
	if markSending {
		var m store.Message
		ok, freeAt, m, err = a.Store.TakeMarketingPlaceAndMarkSending(ctx, c.ID, msg.ID, cap.Max, cap.Window())
		if ok && err != nil {
			return nil, nil, storeErr("mark sending", err)
		}
		if ok {
			sent = &m
		}
	} else {
		ok, freeAt, err = a.Store.TakeMarketingPlace(ctx, c.ID, msg.ID, cap.Max, cap.Window())
	}
	switch {
	case err != nil:
		return nil, nil, storeErr("frequency cap", err)
	case ok:
		return nil, sent, nil
	case freeAt.IsZero() || p.whenCapped == compliance.WhenCappedSkip:
		res, err := a.suppress(ctx, msg, compliance.ReasonCapped)
		return res, nil, err
	}
	// The place frees at freeAt; customers released together are spread
	// over the first minutes, as at the end of quiet hours.
	res, err := a.hold(ctx, msg, compliance.ReasonCapped, freeAt.Add(compliance.Spread(c.ID, p.settings.ReleaseSpreadMinutes)), lastTry)
	return res, nil, err
}

// consentLapsed: the customer's advertising consent on the channel was
// given longer ago than the reconfirmation period allows and they have
// not been reminded of it since (정보통신망법 §50(8): every 2 years). The
// reconfirmation notice (a service message) renews it; a month's grace
// covers the notice's own delivery.
func consentLapsed(c store.Customer, channel string, s compliance.Settings, now time.Time) bool {
	if s.ReconfirmEveryDays <= 0 {
		return false
	}
	given := c.Consent[channel].At
	if given.IsZero() {
		return false
	}
	return now.After(given.AddDate(0, 0, s.ReconfirmEveryDays+reconfirmGraceDays))
}

// reconfirmGraceDays is how long after its due date a reconfirmation may
// still arrive before advertising stops.
const reconfirmGraceDays = 30

func (a *Activities) suppress(ctx context.Context, msg store.Message, reason string) (*SendResult, error) {
	m, err := a.Store.MarkFinal(ctx, msg.ID, domain.MessageSuppressed, "suppressed", reason)
	if err != nil {
		return nil, storeErr("suppress message", err)
	}
	if rerr := a.Store.ReleaseMarketingPlace(ctx, msg.ID); rerr != nil {
		return nil, storeErr("release cap place", rerr)
	}
	res := resultOf(m)
	return &res, nil
}

// hold records that the message waits until at; on the workflow's last
// try it is suppressed with the reason instead.
func (a *Activities) hold(ctx context.Context, msg store.Message, reason string, at time.Time, lastTry bool) (*SendResult, error) {
	if lastTry {
		return a.suppress(ctx, msg, reason)
	}
	m, err := a.Store.Hold(ctx, msg.ID, reason, at)
	if err != nil {
		return nil, storeErr("hold message", err)
	}
	res := resultOf(m)
	res.NotBefore = at
	return &res, nil
}
