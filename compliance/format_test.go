package compliance

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"
)

func fullSettings() Settings {
	s := Defaults()
	s.SenderName = "단골상회"
	s.SenderContact = "서울시 중구 세종대로 1, 02-123-4567"
	s.OptOutNumber = "080-123-4567"
	return s
}

func krSMS() Decoration {
	return Decoration{Country: "KR", Purpose: PurposeMarketing, Channel: ChannelSMS, Settings: fullSettings()}
}

const wantTail = "\n무료수신거부 080-123-4567"

func TestDecorateKoreanSMS(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"plain text", "봄 세일 20% 할인", "(광고)단골상회 봄 세일 20% 할인" + wantTail},
		{"empty text", "", "(광고)단골상회 " + wantTail},
		{"the template's own label", "(광고) 봄 세일", "(광고)단골상회 봄 세일" + wantTail},
		{"the template's label and sender name", "(광고)단골상회 봄 세일", "(광고)단골상회 봄 세일" + wantTail},
		{"a leading sender name alone", "단골상회 봄 세일", "(광고)단골상회 봄 세일" + wantTail},
		{"a word starting with the sender name is kept", "단골상회원 여러분", "(광고)단골상회 단골상회원 여러분" + wantTail},
		{"spaced label", "( 광고 ) 봄 세일", "(광고)단골상회 봄 세일" + wantTail},
		{"spaced inside label", "(광 고)봄 세일", "(광고)단골상회 봄 세일" + wantTail},
		{"full-width label", "（광고）봄 세일", "(광고)단골상회 봄 세일" + wantTail},
		{"square label", "[광고] 봄 세일", "(광고)단골상회 봄 세일" + wantTail},
		{"angle label", "<광고> 봄 세일", "(광고)단골상회 봄 세일" + wantTail},
		{"lenticular label", "【광고】봄 세일", "(광고)단골상회 봄 세일" + wantTail},
		{"small-form label (NFKC)", "﹙광고﹚봄 세일", "(광고)단골상회 봄 세일" + wantTail},
		{"zero-width inside the label", "(\u200b광\u200d고\ufeff)봄 세일", "(광고)단골상회 봄 세일" + wantTail},
		{"conjoining jamo spelling 광고", "(\u1100\u116a\u11bc\u1100\u1169)봄 세일", "(광고)단골상회 봄 세일" + wantTail},
		{"two labels", "(광고)(광고) 봄 세일", "(광고)단골상회 봄 세일" + wantTail},
		{"a label nested in a label", "(광(광고)고) 봄 세일", "(광고)단골상회 봄 세일" + wantTail},
		{"a label in the middle", "봄 (광고) 세일", "(광고)단골상회 봄  세일" + wantTail},
		{"leading blanks before the label", " \u3000\u200b(광고)봄 세일", "(광고)단골상회 봄 세일" + wantTail},
		{"the template's opt-out line", "봄 세일\n무료수신거부 080-000-0000", "(광고)단골상회 봄 세일" + wantTail},
		{"a spaced opt-out line", "봄 세일\n무료 수신거부 080-000-0000\n감사합니다", "(광고)단골상회 봄 세일\n감사합니다" + wantTail},
		{"an opt-out line with CRLF", "봄 세일\r\n무료수신거부 080-000-0000\r\n감사합니다", "(광고)단골상회 봄 세일\r\n감사합니다" + wantTail},
		{"an opt-out line split by a break", "봄 세일\n무료수신\n거부 080\n끝", "(광고)단골상회 봄 세일\n끝" + wantTail},
		{"compatibility jamo kept as written", "ㅋㅋㅋ 세일", "(광고)단골상회 ㅋㅋㅋ 세일" + wantTail},
		{"full-width digits kept as written", "１０％ 할인", "(광고)단골상회 １０％ 할인" + wantTail},
		{"invalid UTF-8 replaced", "세일\xff", "(광고)단골상회 세일\uFFFD" + wantTail},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			subj, got, err := Decorate(krSMS(), "", c.in)
			if err != nil || subj != "" || got != c.want {
				t.Fatalf("Decorate(%q) = %q, %q, %v\nwant %q", c.in, subj, got, err, c.want)
			}
			checkKoreanSMS(t, got)
			if _, again, _ := Decorate(krSMS(), "", got); again != got {
				t.Fatalf("decorating twice: %q", again)
			}
		})
	}
}

// checkKoreanSMS is the law's shape: one label, at the very start, then
// the sender name, and one opt-out line, the last.
func checkKoreanSMS(t *testing.T, got string) {
	t.Helper()
	n := norm.NFKC.String(got)
	if strings.Count(n, AdLabel) != 1 || !strings.HasPrefix(got, AdLabel+"단골상회 ") {
		t.Fatalf("not exactly one label at the start: %q", got)
	}
	if strings.Count(strings.Join(strings.Fields(n), ""), "수신거부") != 1 || !strings.HasSuffix(got, wantTail) {
		t.Fatalf("not exactly one opt-out line at the end: %q", got)
	}
}

func TestDecorateKoreanMail(t *testing.T) {
	d := Decoration{Country: "KR", Purpose: PurposeMarketing, Channel: ChannelEmail, Settings: fullSettings(),
		UnsubscribeURL: "https://shop.example/u/abc"}
	subj, body, err := Decorate(d, "[광고] 봄 세일 안내", "안녕하세요.\n봄 세일입니다.\n")
	if err != nil {
		t.Fatal(err)
	}
	if subj != "(광고) 봄 세일 안내" {
		t.Errorf("subject %q", subj)
	}
	wantBody := "안녕하세요.\n봄 세일입니다.\n\n--\n발신자: 단골상회\n연락처: 서울시 중구 세종대로 1, 02-123-4567\n" +
		"수신을 원하지 않으시면 아래 링크에서 수신거부(Unsubscribe)하실 수 있습니다.\nhttps://shop.example/u/abc"
	if body != wantBody {
		t.Errorf("body %q\nwant %q", body, wantBody)
	}
	s2, b2, err := Decorate(d, subj, body)
	if err != nil || s2 != subj || b2 != body {
		t.Errorf("decorating twice: %q %q %v", s2, b2, err)
	}
	if s, _, _ := Decorate(d, "（광고）(광고) 봄", "x"); s != "(광고) 봄" {
		t.Errorf("subject with faked labels: %q", s)
	}
	// With the preference page, its link follows the unsubscribe link.
	d.PreferencesURL = "https://shop.example/p/xyz"
	_, body, err = Decorate(d, "봄", "안녕하세요.")
	if want := "안녕하세요.\n\n" + strings.TrimPrefix(wantBody, "안녕하세요.\n봄 세일입니다.\n\n") +
		"\n수신 설정 변경(Preferences): https://shop.example/p/xyz"; err != nil || body != want {
		t.Errorf("with preferences: %q, %v\nwant %q", body, err, want)
	}
	if _, again, _ := Decorate(d, "봄", body); again != body {
		t.Errorf("decorating twice with preferences: %q", again)
	}
	d.PreferencesURL = "https://shop.example/p/x\n(광고)"
	if _, _, err := Decorate(d, "봄", "x"); err == nil || !strings.Contains(err.Error(), "preferences_url") {
		t.Errorf("a preference link with a line break: %v", err)
	}
}

func TestDecorateOtherCountries(t *testing.T) {
	sms := Decoration{Country: "US", Purpose: PurposeMarketing, Channel: ChannelSMS, Settings: fullSettings()}
	for _, c := range []struct{ in, want string }{
		{"Spring sale", "Spring sale\nReply STOP to opt out."},
		{"Spring sale Reply STOP to opt out.", "Spring sale\nReply STOP to opt out."},
		{"Spring sale\nreply stop to opt out", "Spring sale\nReply STOP to opt out."},
		{"Spring sale\nReply STOP to opt out.\nReply STOP to opt out.\n", "Spring sale\nReply STOP to opt out."},
		{"Reply STOP to opt out.\nSpring sale", "Spring sale\nReply STOP to opt out."},
		{"(광고) kept: only Korea strips it", "(광고) kept: only Korea strips it\nReply STOP to opt out."},
	} {
		_, got, err := Decorate(sms, "", c.in)
		if err != nil || got != c.want {
			t.Errorf("US SMS %q = %q, %v; want %q", c.in, got, err, c.want)
		}
		if _, again, _ := Decorate(sms, "", got); again != got {
			t.Errorf("US SMS decorated twice: %q", again)
		}
	}
	mail := Decoration{Country: "DE", Purpose: PurposeMarketing, Channel: ChannelEmail, Settings: fullSettings(),
		UnsubscribeURL: "https://shop.example/u/abc"}
	subj, body, err := Decorate(mail, "Spring sale", "Hello")
	want := "Hello\n\n--\nThis is an advertisement from 단골상회.\n단골상회, 서울시 중구 세종대로 1, 02-123-4567\n" +
		"To stop receiving these messages, unsubscribe: https://shop.example/u/abc"
	if err != nil || subj != "Spring sale" || body != want {
		t.Errorf("DE mail = %q, %q, %v; want body %q", subj, body, err, want)
	}
	mail.PreferencesURL = "https://shop.example/p/xyz"
	if _, body, err := Decorate(mail, "Spring sale", "Hello"); err != nil || body != want+"\nChoose what you receive: https://shop.example/p/xyz" {
		t.Errorf("DE mail with preferences = %q, %v", body, err)
	}
}

func TestDecorateServiceUnchanged(t *testing.T) {
	for _, ch := range []string{ChannelSMS, ChannelEmail} {
		for _, country := range []string{"KR", "US"} {
			d := Decoration{Country: country, Purpose: PurposeService, Channel: ch} // no settings needed
			subj, body, err := Decorate(d, "(광고) 주문 확인", "(광고)감사합니다\n무료수신거부 080")
			if err != nil || subj != "(광고) 주문 확인" || body != "(광고)감사합니다\n무료수신거부 080" {
				t.Errorf("%s %s service changed: %q %q %v", country, ch, subj, body, err)
			}
		}
	}
}

func TestDecorateSettingsIncomplete(t *testing.T) {
	cases := []struct {
		name  string
		d     Decoration
		field string
	}{
		{"KR SMS without sender name", func() Decoration { d := krSMS(); d.Settings.SenderName = ""; return d }(), "sender_name"},
		{"KR SMS with a blank sender name", func() Decoration { d := krSMS(); d.Settings.SenderName = " \t"; return d }(), "sender_name is not set"},
		{"KR SMS without 080", func() Decoration { d := krSMS(); d.Settings.OptOutNumber = ""; return d }(), "opt_out_number"},
		{"KR SMS sender name faking a label", func() Decoration { d := krSMS(); d.Settings.SenderName = "(광고)상회"; return d }(), "sender_name"},
		{"KR SMS sender name with a break", func() Decoration { d := krSMS(); d.Settings.SenderName = "상회\n무료"; return d }(), "sender_name"},
		{"KR SMS 080 with an opt-out label", func() Decoration { d := krSMS(); d.Settings.OptOutNumber = "수신거부 080"; return d }(), "opt_out_number"},
		{"KR mail without contact", Decoration{Country: "KR", Purpose: PurposeMarketing, Channel: ChannelEmail,
			Settings: func() Settings { s := fullSettings(); s.SenderContact = ""; return s }(), UnsubscribeURL: "https://x/u"}, "sender_contact"},
		{"KR mail without unsubscribe link", Decoration{Country: "KR", Purpose: PurposeMarketing, Channel: ChannelEmail,
			Settings: fullSettings()}, "unsubscribe_url"},
		{"US mail without unsubscribe link", Decoration{Country: "US", Purpose: PurposeMarketing, Channel: ChannelEmail,
			Settings: fullSettings()}, "unsubscribe_url"},
		{"US mail without sender name", Decoration{Country: "US", Purpose: PurposeMarketing, Channel: ChannelEmail,
			Settings: Settings{SenderContact: "1 Main St"}, UnsubscribeURL: "https://x/u"}, "sender_name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := Decorate(c.d, "s", "b")
			if !errors.Is(err, ErrSettingsIncomplete) || !strings.Contains(err.Error(), c.field) {
				t.Fatalf("err = %v; want ErrSettingsIncomplete naming %s", err, c.field)
			}
		})
	}
	// A US SMS needs none of them.
	if _, _, err := Decorate(Decoration{Country: "US", Purpose: PurposeMarketing, Channel: ChannelSMS}, "", "x"); err != nil {
		t.Errorf("US SMS without settings: %v", err)
	}
}

func TestDecorateUnknown(t *testing.T) {
	for _, d := range []Decoration{
		{Country: "KR", Purpose: "promo", Channel: ChannelSMS, Settings: fullSettings()},
		{Country: "KR", Purpose: PurposeMarketing, Channel: "fax", Settings: fullSettings()},
		{Country: "KR", Purpose: PurposeService, Channel: "fax"},
	} {
		if _, _, err := Decorate(d, "", "x"); err == nil || errors.Is(err, ErrSettingsIncomplete) {
			t.Errorf("%+v: err = %v, want a refusal", d, err)
		}
	}
}

func TestOverhead(t *testing.T) {
	kr := krSMS()
	// "(광고)단골상회 " is 9 units, "\n무료수신거부 080-123-4567" is 20.
	cases := []struct {
		name string
		d    Decoration
		want int
	}{
		{"KR marketing SMS", kr, 9 + 20},
		{"US marketing SMS", Decoration{Country: "US", Purpose: PurposeMarketing, Channel: ChannelSMS}, 23},
		{"service SMS", Decoration{Country: "KR", Purpose: PurposeService, Channel: ChannelSMS, Settings: fullSettings()}, 0},
		{"mail", Decoration{Country: "KR", Purpose: PurposeMarketing, Channel: ChannelEmail, Settings: fullSettings()}, 0},
	}
	for _, c := range cases {
		if got := Overhead(c.d); got != c.want {
			t.Errorf("%s: Overhead = %d, want %d", c.name, got, c.want)
		}
	}
	// The bound holds: what Decorate adds is never more than Overhead.
	for _, text := range []string{"", "세일", "(광고)단골상회 세일\n무료수신거부 080", strings.Repeat("가", 1000)} {
		for _, d := range []Decoration{kr, cases[1].d} {
			_, got, err := Decorate(d, "", text)
			if err != nil {
				t.Fatal(err)
			}
			if utf16Len(got) > utf16Len(text)+Overhead(d) {
				t.Errorf("%q decorated to %d units, more than %d + %d", text, utf16Len(got), utf16Len(text), Overhead(d))
			}
		}
	}
}

// FuzzDecorate: whatever a template writes, a Korean advertising SMS has
// exactly one label, at the very start, and exactly one opt-out line, at
// the end; and decorating it again changes nothing.
func FuzzDecorate(f *testing.F) {
	for _, s := range []string{
		"", "봄 세일", "(광고)", "（광고）", "[광고]", "<광고>", "( 광 고 )", "(광(광고)고)", "((광고)",
		"(\u200b광고)", "﹙광고﹚", "(\u1100\u116a\u11bc\u1100\u1169)", "무료수신거부 080-000-0000",
		"a\n무료 수신거부\nb", "수신(광고)거부", "(광고)단골상회 x\n무료수신거부 080-123-4567", "\xff\xfe",
		"단골상회", "(광\n고)", "광고)", "(광고\u0301)",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		d := krSMS()
		_, got, err := Decorate(d, "", text)
		if err != nil {
			t.Fatal(err)
		}
		checkKoreanSMS(t, got)
		if _, again, _ := Decorate(d, "", got); again != got {
			t.Fatalf("not idempotent:\n%q\n%q", got, again)
		}
		// Without a sender name (which is stripped once per call, as the
		// engine adds it once), stripping is idempotent too.
		stripped := StripKoreanAd(text, "")
		if StripKoreanAd(stripped, "") != stripped {
			t.Fatalf("strip not idempotent: %q", stripped)
		}
		if utf16Len(got) > utf16Len(strings.ToValidUTF8(text, "\uFFFD"))+Overhead(d) {
			t.Fatalf("longer than Overhead allows: %q", got)
		}
	})
}

// TestStripOnePass: one reading takes out labels and opt-out lines that
// appear only as others go, so stripping is linear in the text (a
// reading per nesting level took 10 s for 24 KB of nested labels).
func TestStripOnePass(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{strings.Repeat("(광", 3000) + strings.Repeat("고)", 3000) + "끝", "끝"},
		{"수신(광고)거부 080\n끝", "끝"},
		{"앞\n" + strings.Repeat("수신\n", 50) + "수신거부" + strings.Repeat("\n거부", 50) + "\n끝", "앞\n끝"},
		{"(광\n수신거부\n고)끝", "끝"},
	} {
		once := stripPass(c.in)
		if got := strings.TrimSpace(once); got != c.want {
			t.Errorf("stripPass(%.40q...) = %.60q, want %q", c.in, got, c.want)
		}
		if stripPass(once) != once {
			t.Errorf("stripPass(%.40q...) left something for a second reading", c.in)
		}
	}
}
