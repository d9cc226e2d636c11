package compliance_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/dangol/dangol/compliance"
)

func valid() compliance.Settings {
	s := compliance.Defaults()
	s.SenderName = "한빛전자"
	s.SenderContact = "02-123-4567"
	s.OptOutNumber = "080-123-4567"
	return s
}

func TestDefaultsAreValid(t *testing.T) {
	if err := compliance.Defaults().Validate(); err != nil {
		t.Fatal(err)
	}
	if err := valid().Validate(); err != nil {
		t.Fatal(err)
	}
}

// Each bad value is refused naming its JSON field.
func TestValidateNamesTheField(t *testing.T) {
	for _, tc := range []struct {
		field string
		edit  func(*compliance.Settings)
	}{
		{"sender_name", func(s *compliance.Settings) { s.SenderName = strings.Repeat("가", 41) }},
		{"sender_name", func(s *compliance.Settings) { s.SenderName = "a\x00b" }},
		{"sender_name", func(s *compliance.Settings) { s.SenderName = "a\nb" }},
		{"sender_name", func(s *compliance.Settings) { s.SenderName = "(광고)단골" }},
		{"sender_name", func(s *compliance.Settings) { s.SenderName = " 단골" }},
		{"sender_contact", func(s *compliance.Settings) { s.SenderContact = "무료수신거부 080-1234-5678" }},
		{"sender_name", func(s *compliance.Settings) { s.SenderName = "a\xffb" }},
		{"sender_contact", func(s *compliance.Settings) { s.SenderContact = strings.Repeat("x", 101) }},
		{"opt_out_number", func(s *compliance.Settings) { s.OptOutNumber = "080-12-4567" }},
		{"opt_out_number", func(s *compliance.Settings) { s.OptOutNumber = "1588-1234" }}, // Korea: must be 080
		{"opt_out_number", func(s *compliance.Settings) { s.OptOutNumber = "080 1234 5678" }},
		{"opt_out_number", func(s *compliance.Settings) { s.DefaultCountry = "US"; s.OptOutNumber = "1-800-FLOWERS" }},
		{"opt_out_number", func(s *compliance.Settings) { s.DefaultCountry = "US"; s.OptOutNumber = strings.Repeat("1", 21) }},
		{"default_time_zone", func(s *compliance.Settings) { s.DefaultTimeZone = "Mars/Olympus" }},
		{"default_time_zone", func(s *compliance.Settings) { s.DefaultTimeZone = "" }},
		{"default_time_zone", func(s *compliance.Settings) { s.DefaultTimeZone = "Local" }},
		{"default_time_zone", func(s *compliance.Settings) { s.DefaultTimeZone = "Asia/../../etc/passwd" }},
		{"default_country", func(s *compliance.Settings) { s.DefaultCountry = "kr" }},
		{"default_country", func(s *compliance.Settings) { s.DefaultCountry = "*" }},
		{"quiet_hours.kr", func(s *compliance.Settings) { s.QuietHours["kr"] = s.QuietHours["KR"] }},
		{"quiet_hours", func(s *compliance.Settings) { s.QuietHours[strings.Repeat("K", 100)] = s.QuietHours["KR"] }},
		{"quiet_hours.KR.start", func(s *compliance.Settings) { q := s.QuietHours["KR"]; q.Start = "24:00"; s.QuietHours["KR"] = q }},
		{"quiet_hours.KR.start", func(s *compliance.Settings) { q := s.QuietHours["KR"]; q.Start = "9:00"; s.QuietHours["KR"] = q }},
		{"quiet_hours.US.end", func(s *compliance.Settings) { q := s.QuietHours["US"]; q.End = "08:60"; s.QuietHours["US"] = q }},
		{"quiet_hours.KR.purposes", func(s *compliance.Settings) { q := s.QuietHours["KR"]; q.Purposes = nil; s.QuietHours["KR"] = q }},
		{"quiet_hours.KR.purposes[1]", func(s *compliance.Settings) {
			q := s.QuietHours["KR"]
			q.Purposes = []string{"marketing", "spam"}
			s.QuietHours["KR"] = q
		}},
		{"quiet_hours.KR.purposes[1]", func(s *compliance.Settings) {
			q := s.QuietHours["KR"]
			q.Purposes = []string{"marketing", "marketing"}
			s.QuietHours["KR"] = q
		}},
		{"quiet_hours", func(s *compliance.Settings) {
			for i := range 51 {
				s.QuietHours[string(rune('A'+i/26))+string(rune('A'+i%26))] = s.QuietHours["KR"]
			}
		}},
		{"frequency_cap.max", func(s *compliance.Settings) { s.FrequencyCap.Max = -1 }},
		{"frequency_cap.max", func(s *compliance.Settings) { s.FrequencyCap.Max = 101 }},
		{"frequency_cap.window_days", func(s *compliance.Settings) { s.FrequencyCap.WindowDays = 0 }},
		{"frequency_cap.window_days", func(s *compliance.Settings) { s.FrequencyCap.WindowDays = 366 }},
		{"reconfirm_every_days", func(s *compliance.Settings) { s.ReconfirmEveryDays = 0 }},
		{"reconfirm_every_days", func(s *compliance.Settings) { s.ReconfirmEveryDays = 3651 }},
		{"release_spread_minutes", func(s *compliance.Settings) { s.ReleaseSpreadMinutes = -1 }},
		{"release_spread_minutes", func(s *compliance.Settings) { s.ReleaseSpreadMinutes = 241 }},
	} {
		s := valid()
		tc.edit(&s)
		err := s.Validate()
		var fe *compliance.FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("%s: got %v, want a FieldError naming %s", tc.field, err, tc.field)
		}
	}
}

func TestValidateAcceptsTheEdges(t *testing.T) {
	s := valid()
	s.OptOutNumber = "080-1234-5678"
	s.SenderName = strings.Repeat("가", 40)
	s.QuietHours["*"] = compliance.QuietHours{Start: "00:00", End: "23:59", Purposes: []string{"service", "marketing"}}
	s.QuietHours["JP"] = compliance.QuietHours{Start: "12:00", End: "12:00", Purposes: []string{"marketing"}}
	s.FrequencyCap = compliance.FrequencyCap{Max: 0, WindowDays: 365}
	s.ReconfirmEveryDays, s.ReleaseSpreadMinutes = 3650, 240
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	us := valid()
	us.DefaultCountry, us.DefaultTimeZone, us.OptOutNumber = "US", "America/New_York", "1-800-555-0100"
	us.QuietHours = nil
	if err := us.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestSettingsRoundTrip(t *testing.T) {
	s := valid()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back compliance.Settings
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, s) {
		t.Fatalf("read back %+v, want %+v", back, s)
	}
}

func fieldOf(err error) string {
	var fe *compliance.FieldError
	if errors.As(err, &fe) {
		return fe.Field
	}
	return ""
}

func TestEffectiveTightens(t *testing.T) {
	s := valid()
	max1 := &compliance.FrequencyCap{Max: 1, WindowDays: 14}
	got, err := compliance.Effective(s, compliance.Overrides{FrequencyCap: max1})
	if err != nil {
		t.Fatal(err)
	}
	if got.FrequencyCap != *max1 || !reflect.DeepEqual(got.QuietHours, s.QuietHours) {
		t.Fatalf("effective %+v", got)
	}

	// 20:00-09:00 for both purposes contains KR's 21:00-08:00 marketing
	// window and the US's 21:00-08:00 window for everything.
	q := &compliance.QuietHours{Start: "20:00", End: "09:00", Purposes: []string{"marketing", "service"}, NightConsent: true}
	got, err = compliance.Effective(s, compliance.Overrides{QuietHours: q})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"KR", "US", "*"} {
		w := got.QuietHours[k]
		if w.Start != "20:00" || w.End != "09:00" || len(w.Purposes) != 2 {
			t.Errorf("%s: %+v", k, w)
		}
	}
	// Night-time consent lifts the program's window only where the
	// settings let it (Korea, not the US).
	if !got.QuietHours["KR"].NightConsent || got.QuietHours["US"].NightConsent {
		t.Errorf("night consent: KR %v, US %v", got.QuietHours["KR"].NightConsent, got.QuietHours["US"].NightConsent)
	}
	if err := got.Validate(); err != nil {
		t.Fatalf("effective settings do not validate: %v", err)
	}
	// The settings passed in are not changed.
	if s.QuietHours["KR"].Start != "21:00" {
		t.Fatal("Effective changed its input")
	}
	same, err := compliance.Effective(s, compliance.Overrides{})
	if err != nil || !reflect.DeepEqual(same, s) {
		t.Fatalf("no overrides: %+v, %v", same, err)
	}
}

func TestEffectiveRefusesLoosening(t *testing.T) {
	s := valid()
	for _, tc := range []struct {
		field string
		o     compliance.Overrides
	}{
		{"params.compliance.frequency_cap.max", compliance.Overrides{FrequencyCap: &compliance.FrequencyCap{Max: 3, WindowDays: 7}}},
		{"params.compliance.frequency_cap.window_days", compliance.Overrides{FrequencyCap: &compliance.FrequencyCap{Max: 2, WindowDays: 6}}},
		{"params.compliance.frequency_cap.max", compliance.Overrides{FrequencyCap: &compliance.FrequencyCap{Max: -1, WindowDays: 7}}},
		// Starts later than 21:00.
		{"params.compliance.quiet_hours.start", compliance.Overrides{QuietHours: &compliance.QuietHours{Start: "22:00", End: "08:00", Purposes: []string{"marketing", "service"}}}},
		// Ends before 08:00.
		{"params.compliance.quiet_hours.end", compliance.Overrides{QuietHours: &compliance.QuietHours{Start: "21:00", End: "07:59", Purposes: []string{"marketing", "service"}}}},
		// Covers marketing only, but the US window holds service too.
		{"params.compliance.quiet_hours.purposes", compliance.Overrides{QuietHours: &compliance.QuietHours{Start: "20:00", End: "09:00", Purposes: []string{"marketing"}}}},
		// No window at all.
		{"params.compliance.quiet_hours.start", compliance.Overrides{QuietHours: &compliance.QuietHours{Start: "08:00", End: "08:00", Purposes: []string{"marketing", "service"}}}},
		// The day part, not the night.
		{"params.compliance.quiet_hours.start", compliance.Overrides{QuietHours: &compliance.QuietHours{Start: "08:00", End: "21:00", Purposes: []string{"marketing", "service"}}}},
		{"params.compliance.quiet_hours.start", compliance.Overrides{QuietHours: &compliance.QuietHours{Start: "25:00", End: "08:00", Purposes: []string{"marketing"}}}},
	} {
		_, err := compliance.Effective(s, tc.o)
		if fieldOf(err) != tc.field {
			t.Errorf("want %s, got %v", tc.field, err)
		}
	}
	// Exactly the settings' window is not looser.
	if _, err := compliance.Effective(s, compliance.Overrides{QuietHours: &compliance.QuietHours{Start: "21:00", End: "08:00", Purposes: []string{"service", "marketing"}}}); err != nil {
		t.Fatal(err)
	}
}
