package config_test

import (
	"strings"
	"testing"

	"github.com/dangol/dangol/config"
	"github.com/dangol/dangol/links"
)

// The link secret signs unsubscribe links; a short one is refused at
// start-up (with the variable's name), never used.
func TestLinkSecret(t *testing.T) {
	if len(config.DevLinkSecret) < links.MinSecretLen {
		t.Fatalf("the development default is %d bytes, shorter than %d", len(config.DevLinkSecret), links.MinSecretLen)
	}
	cfg, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	if string(cfg.LinkSecret) != config.DevLinkSecret {
		t.Fatalf("default LinkSecret %q, want the development default", cfg.LinkSecret)
	}

	t.Setenv("DANGOL_LINK_SECRET", strings.Repeat("k", links.MinSecretLen-1))
	if _, err := config.Load(); err == nil || !strings.Contains(err.Error(), "DANGOL_LINK_SECRET") {
		t.Fatalf("a %d-byte secret: err %v, want one naming DANGOL_LINK_SECRET", links.MinSecretLen-1, err)
	}

	want := strings.Repeat("s", links.MinSecretLen)
	t.Setenv("DANGOL_LINK_SECRET", want)
	if cfg, err := config.Load(); err != nil || string(cfg.LinkSecret) != want {
		t.Fatalf("a %d-byte secret: %q, %v", links.MinSecretLen, cfg.LinkSecret, err)
	}
}
