package config_test

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/dangol/dangol/channels/sms"
)

// The Twilio credentials the dev stacks ship must be what dangol (and
// Twilio) accept: an Account SID of "AC" and 32 hex digits, an auth token
// of 32 hex digits. They used to be "ACdev000..." and "devauthtoken000...",
// which Twilio refuses before sending anything.
func TestDevTwilioCredentialsHaveTwilioShape(t *testing.T) {
	check := func(where, sid, token string) {
		t.Helper()
		if _, err := sms.NewTwilio(sms.TwilioConfig{AccountSID: sid, AuthToken: token, From: "+15005550006"}); err != nil {
			t.Errorf("%s: %v", where, err)
		}
	}
	env := composeEnv(t, "dangol")
	check("docker-compose.yml dangol", env["TWILIO_ACCOUNT_SID"], env["TWILIO_AUTH_TOKEN"])
	if standin := composeEnv(t, "twilio-standin")["TWILIO_AUTH_TOKEN"]; standin != env["TWILIO_AUTH_TOKEN"] {
		t.Errorf("docker-compose.yml: the stand-in's token %q is not dangol's %q", standin, env["TWILIO_AUTH_TOKEN"])
	}

	b, err := os.ReadFile(filepath.Join("..", "scripts", "dev.sh"))
	if err != nil {
		t.Fatal(err)
	}
	sid := regexp.MustCompile(`(?m)^export TWILIO_ACCOUNT_SID='([^']*)'`).FindSubmatch(b)
	token := regexp.MustCompile(`(?m)^TWILIO_TOKEN=(\S+)`).FindSubmatch(b)
	if sid == nil || token == nil {
		t.Fatal("scripts/dev.sh: TWILIO_ACCOUNT_SID or TWILIO_TOKEN not found")
	}
	check("scripts/dev.sh", string(sid[1]), string(token[1]))
}
