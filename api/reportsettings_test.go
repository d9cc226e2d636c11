package api_test

import (
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/dangol/dangol/compliance"
)

// The report mail settings round-trip; left out, they are no recipients
// and quarterly, as for settings stored before they existed.
func TestSettingsReportMail(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var put, got compliance.Settings
	e.must(http.StatusOK, "PUT", "/v1/settings", validSettings(), &put)
	if put.ReportEvery != compliance.ReportQuarterly || put.ReportRecipients == nil || len(put.ReportRecipients) != 0 {
		t.Fatalf("without report fields: %q %#v, want quarterly and none", put.ReportEvery, put.ReportRecipients)
	}
	in := validSettings()
	in["report_recipients"] = []any{"ops@example.com", "ceo+reports@mail.example.co.kr"}
	in["report_every"] = "monthly"
	e.must(http.StatusOK, "PUT", "/v1/settings", in, &put)
	e.must(http.StatusOK, "GET", "/v1/settings", nil, &got)
	if !reflect.DeepEqual(got, put) || got.ReportEvery != "monthly" ||
		!reflect.DeepEqual(got.ReportRecipients, []string{"ops@example.com", "ceo+reports@mail.example.co.kr"}) {
		t.Fatalf("GET %+v\nPUT answered %+v", got, put)
	}
	e.must(http.StatusOK, "PUT", "/v1/settings", got, nil)
	in["report_recipients"] = nil
	e.must(http.StatusOK, "PUT", "/v1/settings", in, &put)
	if len(put.ReportRecipients) != 0 || put.ReportRecipients == nil {
		t.Fatalf("null recipients answered %#v, want []", put.ReportRecipients)
	}
}

// Every bad report setting is a 400 naming its field and writes nothing.
func TestSettingsReportMailBadFields(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	with := func(k string, v any) map[string]any {
		doc := validSettings()
		doc[k] = v
		return doc
	}
	many := make([]any, compliance.MaxReportRecipients+1)
	for i := range many {
		many[i] = fmt.Sprintf("ops%d@example.com", i)
	}
	raw := string(mustJSON(t, with("report_recipients", []any{"ops@example.com"})))
	for _, tc := range []struct {
		field string
		body  any
	}{
		{"report_recipients", with("report_recipients", many)},
		{"report_recipients", with("report_recipients", "ops@example.com")},
		{"report_recipients", with("report_recipients", map[string]any{"a": "ops@example.com"})},
		{"report_recipients[0]", with("report_recipients", []any{"Ops <ops@example.com>"})},
		{"report_recipients[1]", with("report_recipients", []any{"ops@example.com", "no-at-sign"})},
		{"report_recipients[1]", with("report_recipients", []any{"ops@example.com", "Ops@Example.com"})},
		{"report_recipients[0]", with("report_recipients", []any{"ops@example.com\r\nBcc: x@example.com"})},
		{"report_recipients[0]", with("report_recipients", []any{strings.Repeat("a", 250) + "@example.com"})},
		{"report_recipients[0]", strings.Replace(raw, `"ops@example.com"`, `"ops@exa\u0000mple.com"`, 1)},
		{"report_recipients[0]", strings.Replace(raw, `"ops@example.com"`, "\"ops@\xffexample.com\"", 1)},
		{"report_every", with("report_every", "yearly")},
		{"report_every", with("report_every", "")},
		{"report_every", with("report_every", 90)},
		{"report_every", with("report_every", "0 6 1 */3 *")},
	} {
		e.call("PUT", "/v1/settings", tc.body).wantProblem(t, http.StatusBadRequest, tc.field)
	}
	if n := e.count(`SELECT count(*) FROM settings`); n != 0 {
		t.Fatalf("refused PUTs wrote %d settings rows", n)
	}
}
