package programs

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Bounds of what a marketer types in params. Spans are bounded by
// MaxSpan (see Offset); message texts by their Part.
const (
	// MaxSteps bounds a program's touches or steps.
	MaxSteps = 20
	// MaxKeyLen bounds a touch's or step's key, which becomes part of
	// message idempotency keys and workflow ids.
	MaxKeyLen = 64
	// MaxListLen bounds the categories and products a happy call
	// qualifies, and MaxListEntryBytes each of them (a purchase's
	// category and product are at most as long).
	MaxListLen        = 100
	MaxListEntryBytes = 200
	// MaxLapsedDays bounds lapsed_days (10 years).
	MaxLapsedDays = 3650
	// maxTimeZoneLen bounds time_zone (the longest IANA name is ~30).
	maxTimeZoneLen = 64
	// maxEveryLen bounds the sweep's every.
	maxEveryLen = 32
)

// keyPattern keeps keys to characters that need no escaping in the
// idempotency keys (":"-separated) and workflow ids ("/"-separated) they
// become part of.
var keyPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

func checkKey(field, key string) error {
	if len(key) > MaxKeyLen || !keyPattern.MatchString(key) {
		return &FieldError{field, fmt.Sprintf("must be 1-%d letters, digits, '_', '.' or '-', starting with a letter or digit", MaxKeyLen)}
	}
	return nil
}

// checkOffset refuses an offset ParseOffset could not have returned (one
// built in code, or a negative one).
func checkOffset(field string, o Offset) error {
	if err := o.Valid(); err != nil {
		return &FieldError{field, err.Error()}
	}
	return nil
}

func checkList(field string, list []string) error {
	if len(list) > MaxListLen {
		return &FieldError{field, fmt.Sprintf("must list at most %d entries", MaxListLen)}
	}
	for i, v := range list {
		switch {
		case strings.TrimSpace(v) == "":
			return &FieldError{fmt.Sprintf("%s[%d]", field, i), "must not be empty"}
		case len(v) > MaxListEntryBytes:
			return &FieldError{fmt.Sprintf("%s[%d]", field, i), fmt.Sprintf("must be at most %d bytes", MaxListEntryBytes)}
		case strings.IndexByte(v, 0) >= 0:
			return &FieldError{fmt.Sprintf("%s[%d]", field, i), "must not contain NUL characters"}
		}
	}
	return nil
}

func checkLapsedDays(n int) error {
	if n < 1 || n > MaxLapsedDays {
		return &FieldError{"params.lapsed_days", fmt.Sprintf("must be 1-%d", MaxLapsedDays)}
	}
	return nil
}

// checkTemplate names the field of a template CheckTemplate refuses.
func checkTemplate(field, text string, p Part) error {
	if err := CheckTemplate(text, p); err != nil {
		return &FieldError{field, err.Error()}
	}
	return nil
}

// BodyPart is the part a message body of a channel ("sms", "email",
// "call" for a call task's script) is rendered into.
func BodyPart(channel string) Part {
	switch channel {
	case "email":
		return PartMailBody
	case "call":
		return PartCallScript
	}
	return PartSMS
}

// checkEvery bounds the sweep's interval.
func checkEvery(every string) error {
	if every == "" {
		return nil
	}
	bad := &FieldError{"params.every", "must be a duration from 1s to 10 years, such as 30s or 1h"}
	if len(every) > maxEveryLen {
		return bad
	}
	if d, err := time.ParseDuration(every); err != nil || d < time.Second || d > MaxSpan {
		return bad
	}
	return nil
}
