package compliance_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/dangol/dangol/compliance"
)

// Each bad report setting is refused naming its JSON field.
func TestReportMailSettingsNameTheField(t *testing.T) {
	twenty := make([]string, 21)
	for i := range twenty {
		twenty[i] = fmt.Sprintf("ops%d@example.com", i)
	}
	for _, tc := range []struct {
		field string
		edit  func(*compliance.Settings)
	}{
		{"report_recipients", func(s *compliance.Settings) { s.ReportRecipients = twenty }},
		{"report_recipients[0]", func(s *compliance.Settings) { s.ReportRecipients = []string{""} }},
		{"report_recipients[1]", func(s *compliance.Settings) { s.ReportRecipients = []string{"a@example.com", "not an address"} }},
		{"report_recipients[0]", func(s *compliance.Settings) { s.ReportRecipients = []string{"Ops <ops@example.com>"} }},
		{"report_recipients[0]", func(s *compliance.Settings) { s.ReportRecipients = []string{"<ops@example.com>"} }},
		{"report_recipients[0]", func(s *compliance.Settings) { s.ReportRecipients = []string{"a@example.com, b@example.com"} }},
		{"report_recipients[0]", func(s *compliance.Settings) { s.ReportRecipients = []string{" ops@example.com"} }},
		{"report_recipients[0]", func(s *compliance.Settings) { s.ReportRecipients = []string{"ops@example.com\r\nBcc: x@example.com"} }},
		{"report_recipients[0]", func(s *compliance.Settings) { s.ReportRecipients = []string{"ops@exa\x00mple.com"} }},
		{"report_recipients[0]", func(s *compliance.Settings) { s.ReportRecipients = []string{"ops@\xffexample.com"} }},
		{"report_recipients[0]", func(s *compliance.Settings) { s.ReportRecipients = []string{"ops@localhost"} }},
		{"report_recipients[0]", func(s *compliance.Settings) {
			s.ReportRecipients = []string{strings.Repeat("a", 64) + "@" + strings.Repeat("b", 186) + ".com"}
		}},
		{"report_recipients[1]", func(s *compliance.Settings) { s.ReportRecipients = []string{"ops@example.com", "OPS@example.com"} }},
		{"report_every", func(s *compliance.Settings) { s.ReportEvery = "yearly" }},
		{"report_every", func(s *compliance.Settings) { s.ReportEvery = "Quarterly" }},
		{"report_every", func(s *compliance.Settings) { s.ReportEvery = "0 6 1 */3 *" }},
	} {
		s := valid()
		tc.edit(&s)
		if got := fieldOf(s.Validate()); got != tc.field {
			t.Errorf("%s: got field %q (%v), want %s", tc.field, got, s.Validate(), tc.field)
		}
	}
}

func TestReportMailSettingsEdges(t *testing.T) {
	s := valid()
	s.ReportRecipients = make([]string, compliance.MaxReportRecipients)
	for i := range s.ReportRecipients {
		s.ReportRecipients[i] = fmt.Sprintf("ops.%d+report@mail.example.co.kr", i)
	}
	s.ReportRecipients[0] = strings.Repeat("a", 64) + "@" + strings.Repeat("b", 185) + ".com" // 254 bytes
	for _, every := range compliance.ReportPeriods {
		s.ReportEvery = every
		if err := s.Validate(); err != nil {
			t.Fatalf("%s: %v", every, err)
		}
	}
}

// Settings stored before the report settings existed read back valid,
// with no recipients and the quarterly default.
func TestSettingsWithoutReportFieldsReadAsDefault(t *testing.T) {
	var old compliance.Settings
	doc := `{"sender_name":"","sender_contact":"","opt_out_number":"","default_time_zone":"Asia/Seoul","default_country":"KR",
		"quiet_hours":{},"frequency_cap":{"max":2,"window_days":7},"reconfirm_every_days":730,"release_spread_minutes":30}`
	if err := json.Unmarshal([]byte(doc), &old); err != nil {
		t.Fatal(err)
	}
	if err := old.Validate(); err != nil {
		t.Fatal(err)
	}
	n := old.Normalized()
	if n.ReportEvery != compliance.ReportQuarterly || n.ReportRecipients == nil || len(n.ReportRecipients) != 0 {
		t.Fatalf("normalized %q %#v, want quarterly and no recipients", n.ReportEvery, n.ReportRecipients)
	}
	b, _ := json.Marshal(n)
	var back compliance.Settings
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, n) {
		t.Fatalf("read back %+v (%v), want %+v", back, err, n)
	}
}
