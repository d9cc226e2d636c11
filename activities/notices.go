package activities

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dangol/dangol/compliance"
	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/programs"
	"github.com/dangol/dangol/store"
)

// Built-in texts (TemplateRef.Builtin): notices the law requires, written
// by dangol rather than a template author, in Korean for Korean customers
// and in English otherwise.
const (
	// BuiltinConsentReconfirm: "you consented to advertising on <date>
	// by <channels>; this is how to withdraw".
	BuiltinConsentReconfirm = "consent-reconfirm"
	// BuiltinConsentChange: "on <date> your consent to <channel> was
	// recorded as granted/withdrawn"; Ref is the consent_events row.
	BuiltinConsentChange = "consent-change"
)

// noticeText is what a notice says, before the channel's layout.
type noticeText struct {
	subject, body string
}

// renderBuiltin writes a built-in notice for the customer from the
// database's current facts, bounded like any message.
func (a *Activities) renderBuiltin(ctx context.Context, ref TemplateRef, channel string, customerID int64) (rendered, error) {
	c, err := a.Store.CustomerByID(ctx, customerID)
	if err != nil {
		return rendered{}, storeErr("customer", err)
	}
	set, err := a.settings(ctx)
	if err != nil {
		return rendered{}, err
	}
	country := compliance.CountryOf(deref(c.Country), deref(c.Phone), set)
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	w := noticeWriter{korean: korean(c.Locale, country), loc: loc, set: set}
	var t noticeText
	switch ref.Builtin {
	case BuiltinConsentReconfirm:
		at, channels := advertisingConsent(c)
		if len(channels) == 0 {
			return rendered{}, nonRetryable(ErrTypeNotFound, fmt.Errorf("customer %d has no advertising consent to tell of", customerID))
		}
		t = w.reconfirm(at, channels)
	case BuiltinConsentChange:
		e, err := a.Store.ConsentEventByID(ctx, ref.Ref)
		if err != nil {
			return rendered{}, storeErr("consent event", err)
		}
		if e.CustomerID != customerID {
			return rendered{}, nonRetryable(ErrTypeBadTemplate, fmt.Errorf("consent event %d is not customer %d's", e.ID, customerID))
		}
		t = w.change(e)
	default:
		var ok bool
		if t, ok = w.inboundText(ref.Builtin); !ok {
			return rendered{}, nonRetryable(ErrTypeBadTemplate, fmt.Errorf("no built-in text %q", ref.Builtin))
		}
	}
	out := rendered{body: t.body}
	if channel == domain.ChannelEmail {
		out.subject = t.subject
	}
	for _, p := range []struct {
		part programs.Part
		s    string
	}{{programs.BodyPart(channel), out.body}, {programs.PartMailSubject, out.subject}} {
		if p.part.Size(p.s) > p.part.Max() {
			return rendered{}, nonRetryable(ErrTypeBadTemplate, fmt.Errorf("%s %s: %d over its bound %d", ref.Builtin, p.part, p.part.Size(p.s), p.part.Max()))
		}
	}
	return out, nil
}

// korean: the customer reads Korean (locale ko-*), or lives in Korea.
func korean(locale, country string) bool {
	return country == "KR" || locale == "ko" || strings.HasPrefix(locale, "ko-") || strings.HasPrefix(locale, "ko_")
}

// advertisingConsent is the customer's consent date (the latest grant of
// an advertising channel still granted) and those channels, sorted.
func advertisingConsent(c store.Customer) (time.Time, []string) {
	var at time.Time
	var channels []string
	for _, ch := range store.AdvertisingChannels {
		v, ok := c.Consent[ch]
		if !ok || !v.Granted {
			continue
		}
		channels = append(channels, ch)
		if v.At.After(at) {
			at = v.At
		}
	}
	slices.Sort(channels)
	return at, channels
}

type noticeWriter struct {
	korean bool
	loc    *time.Location
	set    compliance.Settings
}

func (w noticeWriter) date(t time.Time) string {
	t = t.In(w.loc)
	if w.korean {
		return fmt.Sprintf("%d년 %d월 %d일", t.Year(), t.Month(), t.Day())
	}
	return t.Format("January 2, 2006")
}

var channelNames = map[string][2]string{ // English, Korean
	"sms":   {"text message (SMS)", "문자(SMS)"},
	"email": {"email", "이메일"},
	"call":  {"phone call", "전화"},
	"night": {"night-time (21:00-08:00)", "야간(21시~다음날 8시)"},
}

func (w noticeWriter) channels(chs []string) string {
	names := make([]string, len(chs))
	for i, ch := range chs {
		n, ok := channelNames[ch]
		switch {
		case !ok:
			names[i] = ch
		case w.korean:
			names[i] = n[1]
		default:
			names[i] = n[0]
		}
	}
	if w.korean {
		return strings.Join(names, ", ")
	}
	return strings.Join(names, " and ")
}

// sender opens a notice with who sends it, when the settings name them.
func (w noticeWriter) sender() string {
	if w.set.SenderName == "" {
		return ""
	}
	return "[" + w.set.SenderName + "] "
}

// withdraw says how to withdraw: the free opt-out number, else the
// sender's contact, else the store.
func (w noticeWriter) withdraw() string {
	switch {
	case w.korean && w.set.OptOutNumber != "":
		return "수신을 원하지 않으시면 무료수신거부 " + w.set.OptOutNumber + "로 철회하실 수 있습니다."
	case w.korean && w.set.SenderContact != "":
		return "수신을 원하지 않으시면 " + w.set.SenderContact + "로 연락하여 철회하실 수 있습니다."
	case w.korean:
		return "수신을 원하지 않으시면 매장에 말씀해 주시면 철회됩니다."
	case w.set.OptOutNumber != "":
		return "To withdraw, call " + w.set.OptOutNumber + " (free of charge)."
	case w.set.SenderContact != "":
		return "To withdraw, contact " + w.set.SenderContact + "."
	}
	return "To withdraw, tell us at the store."
}

func (w noticeWriter) reconfirm(at time.Time, chs []string) noticeText {
	if w.korean {
		return noticeText{
			subject: w.sender() + "광고성 정보 수신동의 안내",
			body: w.sender() + "광고성 정보 수신동의 안내\n고객님은 " + w.date(at) + "에 " + w.channels(chs) +
				"(으)로 광고성 정보를 받는 데 동의하셨습니다. 동의는 그대로 유지됩니다. " + w.withdraw(),
		}
	}
	return noticeText{
		subject: w.sender() + "Your consent to receive advertising",
		body: w.sender() + "On " + w.date(at) + " you agreed to receive advertising by " + w.channels(chs) +
			". Your consent stays in place. " + w.withdraw(),
	}
}

// change tells the result of a consent change; how to withdraw only
// follows a grant.
func (w noticeWriter) change(e store.ConsentEvent) noticeText {
	how := ""
	if e.Granted {
		how = " " + w.withdraw()
	}
	if w.korean {
		result := "수신동의"
		if !e.Granted {
			result = "수신거부(동의 철회)"
		}
		return noticeText{
			subject: w.sender() + "광고성 정보 수신동의 처리 결과 안내",
			body: w.sender() + "광고성 정보 수신동의 처리 결과 안내\n" + w.date(e.At) + " 고객님의 " + w.channels([]string{e.Channel}) +
				" 광고성 정보 " + result + " 요청이 처리되었습니다." + how,
		}
	}
	result := "granted"
	if !e.Granted {
		result = "withdrawn"
	}
	return noticeText{
		subject: w.sender() + "Your advertising consent was changed",
		body: w.sender() + "On " + w.date(e.At) + " your consent to advertising by " + w.channels([]string{e.Channel}) +
			" was recorded as " + result + "." + how,
	}
}
