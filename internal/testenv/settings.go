package testenv

import (
	"context"
	"testing"

	"github.com/dangol/dangol/compliance"
	"github.com/dangol/dangol/store"
)

// AnyHourSettings are lawful settings for tests that are not about the
// hour or the cap: the sender, contact and 080 number advertising needs,
// no quiet hours (a test must not pass or fail by the time of day CI runs
// it) and a cap no test of a program reaches. Tests of quiet hours and
// caps set their own.
func AnyHourSettings() compliance.Settings {
	s := compliance.Defaults()
	s.SenderName = "단골상점"
	s.SenderContact = "02-555-0100"
	s.OptOutNumber = "080-555-0100"
	s.QuietHours = map[string]compliance.QuietHours{}
	s.FrequencyCap = compliance.FrequencyCap{Max: 100, WindowDays: 1}
	s.ReleaseSpreadMinutes = 0
	return s
}

// PutSettings stores settings for a test's database.
func PutSettings(t testing.TB, st *store.Store, s compliance.Settings) {
	t.Helper()
	if _, err := st.PutSettings(context.Background(), s, "test"); err != nil {
		t.Fatal(err)
	}
}
