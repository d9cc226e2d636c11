package store_test

import (
	"strings"
	"testing"

	"github.com/dangol/dangol/store"
)

// A provider's error text loses the recipient's number in every form it
// may write it, including the national and international ways people do.
func TestRedactRemovesEveryPhoneForm(t *testing.T) {
	for _, form := range []string{"+821055550123", "821055550123", "01055550123", "1055550123", "010-5555-0123", "+82 10-5555-0123"} {
		got := store.Redact("The 'To' number "+form+" is not valid.", "+821055550123")
		if strings.Contains(got, "5555") || !strings.Contains(got, store.Redacted) {
			t.Errorf("%s: %q", form, got)
		}
	}
}
