package store

import (
	"sort"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// Redacted replaces a recipient in provider texts.
const Redacted = "[recipient]"

// Redact removes a message's recipient from a text that is about to be
// stored, logged or returned into a workflow history (a provider's error
// message names the number it refused). A phone number is removed in the
// forms providers write it: E.164 with and without '+', and the national
// number with and without the trunk 0 (+821012345678, 821012345678,
// 01012345678, 1012345678) and as people write it (010-1234-5678,
// +82 10-1234-5678); an address whatever its case.
func Redact(text, recipient string) string {
	if text == "" || recipient == "" {
		return text
	}
	forms := []string{recipient}
	if strings.HasPrefix(recipient, "+") {
		forms = append(forms, recipient[1:])
		if n, err := phonenumbers.Parse(recipient, ""); err == nil {
			if national := phonenumbers.GetNationalSignificantNumber(n); len(national) >= 6 {
				forms = append(forms, "0"+national, national,
					// As people write it: 010-1234-5678, +82 10-1234-5678.
					phonenumbers.Format(n, phonenumbers.NATIONAL), phonenumbers.Format(n, phonenumbers.INTERNATIONAL))
			}
		}
	}
	// Longest first, so a form inside another is not half replaced.
	sort.SliceStable(forms, func(i, j int) bool { return len(forms[i]) > len(forms[j]) })
	for _, f := range forms {
		text = replaceFold(text, f, Redacted)
	}
	return text
}

// replaceFold is strings.ReplaceAll ignoring ASCII case (addresses).
func replaceFold(s, old, repl string) string {
	lower, lowerOld := strings.ToLower(s), strings.ToLower(old)
	if len(lower) != len(s) || !strings.Contains(lower, lowerOld) {
		return strings.ReplaceAll(s, old, repl)
	}
	var b strings.Builder
	for {
		i := strings.Index(lower, lowerOld)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		b.WriteString(repl)
		s, lower = s[i+len(old):], lower[i+len(old):]
	}
}
