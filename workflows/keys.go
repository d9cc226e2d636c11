package workflows

import "strings"

// SplitKey reads the step and action back from an idempotency key made by
// runner.key ("<enrolment prefix>:<step>:<action>"), so the journey can
// show each recorded message, call task and coupon as the step it was.
// Step keys cannot contain ':' (programs validates them), and neither can
// actions, so the last two parts are always step and action.
func SplitKey(key string) (step, action string) {
	i := strings.LastIndexByte(key, ':')
	if i < 0 {
		return "", key
	}
	action = key[i+1:]
	rest := key[:i]
	j := strings.LastIndexByte(rest, ':')
	return rest[j+1:], action
}
