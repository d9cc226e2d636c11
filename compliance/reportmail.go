package compliance

import (
	"net/mail"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Report mail periods (Settings.ReportEvery): calendar quarters, months
// or weeks (Monday to Monday) in the settings' default time zone.
const (
	ReportQuarterly = "quarterly"
	ReportMonthly   = "monthly"
	ReportWeekly    = "weekly"
)

// Bounds of the report mail settings.
const (
	MaxReportRecipients = 20
	// MaxEmailAddress is RFC 5321's limit on a forward path, less the
	// angle brackets.
	MaxEmailAddress = 254
)

// ReportPeriods are the values ReportEvery may take.
var ReportPeriods = []string{ReportQuarterly, ReportMonthly, ReportWeekly}

// validReportMail checks the report recipients (bare addresses, each
// once) and period. An unset period is the default (see Normalized).
func validReportMail(s Settings) error {
	if len(s.ReportRecipients) > MaxReportRecipients {
		return fieldErr("report_recipients", "at most %d addresses", MaxReportRecipients)
	}
	seen := make(map[string]bool, len(s.ReportRecipients))
	for i, r := range s.ReportRecipients {
		field := "report_recipients[" + strconv.Itoa(i) + "]"
		if !IsEmailAddress(r) {
			return fieldErr(field, "must be one e-mail address such as ops@example.com (no name, no brackets), at most %d bytes", MaxEmailAddress)
		}
		k := strings.ToLower(r)
		if seen[k] {
			return fieldErr(field, "%s is named twice", r)
		}
		seen[k] = true
	}
	switch s.ReportEvery {
	case "", ReportQuarterly, ReportMonthly, ReportWeekly:
		return nil
	}
	return fieldErr("report_every", "must be quarterly, monthly or weekly")
}

// IsEmailAddress reports whether v is one bare address that reads back
// as itself: no display name, brackets, comments, list or blanks.
func IsEmailAddress(v string) bool {
	if v == "" || len(v) > MaxEmailAddress || !utf8.ValidString(v) || hasControl(v) {
		return false
	}
	a, err := mail.ParseAddress(v)
	return err == nil && a.Name == "" && a.Address == v && strings.Contains(v[strings.LastIndexByte(v, '@')+1:], ".")
}
