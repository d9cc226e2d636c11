package main

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/dangol/dangol/config"
	"github.com/dangol/dangol/internal/testenv"
	"github.com/dangol/dangol/store"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// Defect 13: `dangol apikey list` shows keys without their secret, and
// `dangol apikey revoke --id N` ends a key at once.
func TestAPIKeyCommands(t *testing.T) {
	st, dsn := testenv.Store(t)
	ctx := context.Background()
	cfg := config.Config{DatabaseURL: dsn}
	run := func(cmd string, args ...string) string {
		t.Helper()
		var out bytes.Buffer
		if err := apikey(ctx, cfg, &out, cmd, args); err != nil {
			t.Fatalf("apikey %s %v: %v", cmd, args, err)
		}
		return out.String()
	}
	key := strings.TrimSpace(run("create", "--name", "pos-gangnam"))
	if name, err := st.APIKeyName(ctx, key); err != nil || name != "pos-gangnam" {
		t.Fatalf("created key: %q %v", name, err)
	}
	list := run("list")
	if !strings.Contains(list, "pos-gangnam") || strings.Contains(list, key) || strings.Contains(list, store.HashAPIKey(key)) {
		t.Fatalf("apikey list:\n%s", list)
	}
	keys, err := st.ListAPIKeys(ctx)
	if err != nil || len(keys) != 1 {
		t.Fatalf("keys %+v %v", keys, err)
	}
	id := strconv.FormatInt(keys[0].ID, 10)
	if out := run("revoke", "--id", id); !strings.Contains(out, "revoked key "+id) {
		t.Fatalf("apikey revoke: %s", out)
	}
	if _, err := st.APIKeyName(ctx, key); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoked key still authenticates: %v", err)
	}
	if out := run("list"); strings.Contains(strings.SplitN(out, "\n", 2)[1], " -\n") {
		t.Fatalf("apikey list after revoke shows no revocation time:\n%s", out)
	}
	run("revoke", "--id", id) // again: harmless
	if err := apikey(ctx, cfg, &bytes.Buffer{}, "revoke", []string{"--id", "424242"}); err == nil {
		t.Fatal("revoking an unknown id succeeded")
	}
	if err := apikey(ctx, cfg, &bytes.Buffer{}, "revoke", nil); err == nil {
		t.Fatal("revoke without --id succeeded")
	}
}
