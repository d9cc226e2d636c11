package histories

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestAddNeverOverwritesAndCheckGuards(t *testing.T) {
	dir := t.TempDir()
	day := time.Date(2026, 11, 24, 15, 0, 0, 0, time.UTC)
	first, err := Add(dir, "birthday", []byte(`{"events":[1]}`), day)
	if err != nil {
		t.Fatal(err)
	}
	second, err := Add(dir, "birthday", []byte(`{"events":[2]}`), day)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(first) != "birthday-2026-11-24.json" || filepath.Base(second) != "birthday-2026-11-24-2.json" {
		t.Fatalf("names %s, %s", first, second)
	}
	if b, _ := os.ReadFile(first); string(b) != `{"events":[1]}` {
		t.Fatalf("first recording overwritten: %s", b)
	}
	if err := Check(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := Add(dir, "../x", nil, day); err == nil {
		t.Fatal("a kind with a path was accepted")
	}

	// Changed, deleted, unlisted: each is named.
	for _, c := range []struct {
		break_ func()
		want   string
	}{
		{func() { _ = os.WriteFile(first, []byte(`{"events":[9]}`), 0o644) }, "birthday-2026-11-24.json was changed"},
		{func() { _ = os.Remove(second) }, "birthday-2026-11-24-2.json is listed but was deleted"},
		{func() { _ = os.WriteFile(filepath.Join(dir, "new.json"), []byte(`{}`), 0o644) }, "new.json is not listed"},
	} {
		c.break_()
		if err := Check(dir); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Check: %v, want %q", err, c.want)
		}
	}
}

func TestCheckNeedsTheManifest(t *testing.T) {
	if err := Check(t.TempDir()); err == nil {
		t.Fatal("a corpus without a manifest passed")
	}
}

// A recording adds files and never rewrites one: the manifest and the
// earlier recordings' checksum files are byte for byte as they were.
func TestAddRewritesNoCommittedFile(t *testing.T) {
	dir := t.TempDir()
	day := time.Date(2026, 11, 24, 15, 0, 0, 0, time.UTC)
	manifest := filepath.Join(dir, Manifest)
	if err := os.WriteFile(manifest, []byte("frozen\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	first, err := Add(dir, "happycall", []byte(`{"events":[1]}`), day)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(first + ".sha256")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Add(dir, "happycall", []byte(`{"events":[2]}`), day); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(manifest); string(b) != "frozen\n" {
		t.Fatalf("manifest rewritten: %q", b)
	}
	if b, _ := os.ReadFile(first + ".sha256"); string(b) != string(sum) {
		t.Fatalf("first checksum file rewritten: %q", b)
	}
}
