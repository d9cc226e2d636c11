package compliance

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Channels a message goes on.
const (
	ChannelSMS   = "sms"
	ChannelEmail = "email"
)

// The additions the engine makes to advertising, whatever the template
// says.
const (
	// AdLabel opens every Korean advertising message, SMS body and mail
	// subject alike (정보통신망법 §50(4), 시행령 §61(2)).
	AdLabel = "(광고)"
	// OptOutLabel opens the free opt-out line that ends a Korean
	// advertising SMS: "무료수신거부 080-XXX-XXXX" (시행령 §61(2)).
	OptOutLabel = "무료수신거부"
	// StopLine ends an advertising SMS elsewhere: the CTIA and TCPA
	// practice of a STOP keyword, which the carrier also honours.
	StopLine = "Reply STOP to opt out."
)

// ErrSettingsIncomplete: the settings lack what the law requires an
// advertisement to carry (a sender name, the 080 number, a contact, an
// unsubscribe link). The send path holds the message with reason
// "settings incomplete" rather than send it unlawfully; the wrapping error
// names the setting.
var ErrSettingsIncomplete = errors.New("settings incomplete")

// Decoration is what Decorate needs to know about a message.
type Decoration struct {
	// Country is the customer's ISO country code: "KR" gets the Korean
	// format.
	Country string
	// Purpose is PurposeMarketing or PurposeService.
	Purpose string
	// Channel is ChannelSMS or ChannelEmail.
	Channel  string
	Settings Settings
	// UnsubscribeURL is this customer's one-click unsubscribe link, for
	// mail.
	UnsubscribeURL string
	// PreferencesURL, optional, is this customer's preference page (every
	// channel's consent, on or off); a mail footer links to it after the
	// unsubscribe link.
	PreferencesURL string
}

// Decorate adds what the law requires of an advertisement to a rendered
// message (mail subject and body; an SMS has only a body, its subject is
// returned as given). Service messages are returned unchanged. The
// additions cannot be removed or doubled by the template: a label or
// opt-out line the template wrote (faked in any bracket, width or spacing)
// is taken out before the engine's own are added, so Decorate of its own
// output changes nothing.
func Decorate(d Decoration, subject, body string) (string, string, error) {
	switch d.Purpose {
	case PurposeService:
		if d.Channel != ChannelSMS && d.Channel != ChannelEmail {
			return "", "", fmt.Errorf("compliance: unknown channel %q", d.Channel)
		}
		return subject, body, nil
	case PurposeMarketing:
	default:
		return "", "", fmt.Errorf("compliance: unknown purpose %q", d.Purpose)
	}
	subject = strings.ToValidUTF8(subject, "\uFFFD")
	body = strings.ToValidUTF8(body, "\uFFFD")
	s := d.Settings
	kr := d.Country == "KR"
	switch d.Channel {
	case ChannelSMS:
		if !kr {
			return subject, stripStop(body) + "\n" + StopLine, nil
		}
		if err := need("sender_name", s.SenderName); err != nil {
			return "", "", err
		}
		if err := need("opt_out_number", s.OptOutNumber); err != nil {
			return "", "", err
		}
		return subject, AdLabel + s.SenderName + " " + StripKoreanAd(body, s.SenderName) + "\n" + OptOutLabel + " " + s.OptOutNumber, nil
	case ChannelEmail:
		if err := need("sender_name", s.SenderName); err != nil {
			return "", "", err
		}
		if err := need("sender_contact", s.SenderContact); err != nil {
			return "", "", err
		}
		if err := need("unsubscribe_url", d.UnsubscribeURL); err != nil {
			return "", "", err
		}
		if d.PreferencesURL != "" {
			if err := need("preferences_url", d.PreferencesURL); err != nil {
				return "", "", err
			}
		}
		footer := mailFooter(kr, s.SenderName, s.SenderContact, d.UnsubscribeURL, d.PreferencesURL)
		if kr {
			subject = AdLabel + " " + StripKoreanAd(subject, "")
		}
		return subject, stripFooter(body, footer) + "\n\n" + footer, nil
	}
	return "", "", fmt.Errorf("compliance: unknown channel %q", d.Channel)
}

// need refuses a blank setting, and one that would itself fake or break
// the format (a sender name carrying "(광고)" or a line break would put a
// second label or line into every message).
func need(field, v string) error {
	if strings.TrimSpace(v) == "" {
		return fmt.Errorf("%w: %s is not set", ErrSettingsIncomplete, field)
	}
	if strings.IndexFunc(v, lineBreak) >= 0 || StripKoreanAd(v, "") != v || strings.TrimFunc(v, ignorable) != v ||
		!norm.NFKC.PropertiesString(v).BoundaryBefore() {
		return fmt.Errorf("%w: %s carries a line break, an advertising label, an opt-out line or leading or trailing blanks", ErrSettingsIncomplete, field)
	}
	return nil
}

// Overhead is the UTF-16 code units (what an SMS counts, see Segments)
// Decorate adds to an SMS of this kind at most: a template within
// MaxSMSChars minus this stays within it after the additions (stripping
// can only shorten the template's text). 0 for mail and service.
func Overhead(d Decoration) int {
	if d.Purpose != PurposeMarketing || d.Channel != ChannelSMS {
		return 0
	}
	if d.Country != "KR" {
		return utf16Len("\n" + StopLine)
	}
	return utf16Len(AdLabel+d.Settings.SenderName+" ") + utf16Len("\n"+OptOutLabel+" "+d.Settings.OptOutNumber)
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

func mailFooter(kr bool, name, contact, url, prefs string) string {
	if kr {
		// 정보통신망법 §50(4), 시행령 §61(2): sender's name and contact,
		// and how to refuse further mail, free and without effort.
		footer := "--\n" +
			"발신자: " + name + "\n" +
			"연락처: " + contact + "\n" +
			"수신을 원하지 않으시면 아래 링크에서 수신거부(Unsubscribe)하실 수 있습니다.\n" +
			url
		if prefs != "" {
			footer += "\n수신 설정 변경(Preferences): " + prefs
		}
		return footer
	}
	// CAN-SPAM (15 U.S.C. 7704(a)(5)): identified as an advertisement,
	// with the sender's postal address and a working opt-out; GDPR Art.
	// 21(3): as easy to withdraw as to give.
	footer := "--\n" +
		"This is an advertisement from " + name + ".\n" +
		name + ", " + contact + "\n" +
		"To stop receiving these messages, unsubscribe: " + url
	if prefs != "" {
		footer += "\nChoose what you receive: " + prefs
	}
	return footer
}

// stripFooter takes the engine's own footer off the end, so decorating
// twice adds it once.
func stripFooter(body, footer string) string {
	body = strings.TrimRightFunc(body, unicode.IsSpace)
	for strings.HasSuffix(body, footer) {
		body = strings.TrimRightFunc(strings.TrimSuffix(body, footer), unicode.IsSpace)
	}
	return body
}

// stripStop takes "Reply STOP to opt out." off the end of the text (and
// any line that is only that), in any case, so it is added once.
func stripStop(text string) string {
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	kept := lines[:0]
	for _, l := range lines {
		if !isStop(strings.TrimSpace(l)) {
			kept = append(kept, l)
		}
	}
	text = strings.TrimRightFunc(strings.Join(kept, "\n"), unicode.IsSpace)
	for {
		cut := false
		for _, stop := range []string{StopLine, strings.TrimSuffix(StopLine, ".")} {
			if n := len(text) - len(stop); n >= 0 && strings.EqualFold(text[n:], stop) {
				text, cut = strings.TrimRightFunc(text[:n], unicode.IsSpace), true
			}
		}
		if !cut {
			return text
		}
	}
}

func isStop(l string) bool {
	return strings.EqualFold(l, StopLine) || strings.EqualFold(l, strings.TrimSuffix(StopLine, "."))
}

// StripKoreanAd returns the template's own text without any advertising
// label or opt-out line, so the engine's can be added exactly once: every
// bracketed "광고" ("(광고)", "( 광고 )", "（광고）", "[광고]", "<광고>",
// "【광고】", with spaces, zero-width or combining characters inside, or
// any form NFKC maps to one of these) wherever it stands, every line that
// carries "수신거부" (a fake or second opt-out number), and a leading
// sender name (which the engine puts right after the label). Matching is
// done on the NFKC form, but the text kept is the author's own characters
// (NFKC would turn compatibility jamo such as "ㅋ" into conjoining ones
// that phones render badly).
func StripKoreanAd(text, senderName string) string {
	text = strings.ToValidUTF8(text, "\uFFFD")
	for {
		next := stripPass(text)
		if next == text {
			break
		}
		text = next
	}
	text = strings.TrimFunc(text, ignorable)
	if senderName != "" && strings.HasPrefix(text, senderName) {
		rest := text[len(senderName):]
		if r, _ := utf8.DecodeRuneInString(rest); rest == "" || ignorable(r) || unicode.IsPunct(r) {
			text = strings.TrimLeftFunc(rest, ignorable)
		}
	}
	return text
}

// ignorable runes are left out when matching: they show as nothing (or as
// a space) and so can hide inside a label.
func ignorable(r rune) bool {
	return unicode.IsSpace(r) || unicode.In(r, unicode.Cf, unicode.Mn, unicode.Me,
		unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector) ||
		r == '\u3164' || r == '\uffa0' || r == '\u115f' || r == '\u1160' // Hangul fillers
}

func lineBreak(r rune) bool {
	switch r {
	case '\n', '\r', '\v', '\f', '\u0085', '\u2028', '\u2029':
		return true
	}
	return false
}

// Brackets that can stand around a fake label, after NFKC (which already
// maps full-width and small forms to ASCII).
const (
	openBrackets  = "([{<【〔〈《「『〖〘〚⟨⟦‹«"
	closeBrackets = ")]}>】〕〉》」』〗〙〛⟩⟧›»"
)

// stripPass removes every label and opt-out line in text. StripKoreanAd
// repeats it until nothing changes, so that the result holds none even
// if a reading missed one.
func stripPass(text string) string {
	// Split text into normalization segments: NFKC of the whole is the
	// concatenation of NFKC of its segments, and each segment starts at a
	// boundary, so dropping whole segments cannot compose a new character
	// from what is left. skel is the NFKC text without ignorable runes,
	// each rune knowing its segment and line.
	type skelRune struct {
		r    rune
		seg  int
		line int
	}
	var segs []string
	var segLine []int
	var skel []skelRune
	line := 0
	prev := rune(0)
	for rest := text; rest != ""; {
		n := norm.NFKC.NextBoundaryInString(rest, true)
		if n <= 0 {
			n = len(rest)
		}
		seg := rest[:n]
		rest = rest[n:]
		segLine = append(segLine, line)
		for _, r := range norm.NFKC.String(seg) {
			if lineBreak(r) && !(r == '\n' && prev == '\r') {
				line++
			}
			prev = r
			if !ignorable(r) {
				skel = append(skel, skelRune{r, len(segs), line})
			}
		}
		segs = append(segs, seg)
	}
	// One reading with a stack, so a label or line that appears only
	// when another is taken out ("(광(광고)고)", "수신(광고)거부") is
	// taken out in the same reading: each rune kept is checked with the
	// three kept before it.
	drop := make([]bool, len(segs))
	dropLine := make([]bool, line+1)
	var kept []skelRune
	for i := 0; i < len(skel); i++ {
		r := skel[i]
		if drop[r.seg] || dropLine[r.line] {
			continue
		}
		kept = append(kept, r)
		n := len(kept)
		if n < 4 {
			continue
		}
		k := kept[n-4:]
		switch {
		case strings.ContainsRune(openBrackets, k[0].r) && k[1].r == '광' && k[2].r == '고' &&
			strings.ContainsRune(closeBrackets, k[3].r):
			first, last := k[0].seg, k[3].seg
			for j := first; j <= last; j++ {
				drop[j] = true
			}
			for len(kept) > 0 && kept[len(kept)-1].seg >= first {
				kept = kept[:len(kept)-1]
			}
		case k[0].r == '수' && k[1].r == '신' && k[2].r == '거' && k[3].r == '부':
			// An opt-out line, spaces and breaks ignored: every line it
			// touches goes, with their line breaks.
			first, last := k[0].line, k[3].line
			for l := first; l <= last; l++ {
				dropLine[l] = true
			}
			for len(kept) > 0 && kept[len(kept)-1].line >= first {
				kept = kept[:len(kept)-1]
			}
		}
	}
	var b strings.Builder
	for i, seg := range segs {
		if !drop[i] && !dropLine[segLine[i]] {
			b.WriteString(seg)
		}
	}
	return b.String()
}
