package config_test

import (
	"testing"

	"github.com/dangol/dangol/config"
)

func TestLogFormatDefaultsToJSONAndRejectsOthers(t *testing.T) {
	t.Setenv("LOG_FORMAT", "")
	cfg, err := config.Load()
	if err != nil || cfg.LogFormat != "json" {
		t.Fatalf("default: %q %v, want json", cfg.LogFormat, err)
	}
	t.Setenv("LOG_FORMAT", "text")
	if cfg, err := config.Load(); err != nil || cfg.LogFormat != "text" {
		t.Fatalf("text: %q %v", cfg.LogFormat, err)
	}
	t.Setenv("LOG_FORMAT", "yaml")
	if _, err := config.Load(); err == nil {
		t.Fatal("LOG_FORMAT=yaml accepted")
	}
}
