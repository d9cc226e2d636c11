// Package histories keeps the replay corpus: workflow histories recorded
// from the real stack and committed, so that later workflow code is
// replayed against runs that may still be alive in production. The corpus
// is append-only: a recording adds a new dated file and never rewrites
// one; a manifest lists every file with its SHA-256, and Check fails when
// a listed file changed or went missing, or a file is not listed.
package histories

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Manifest is the manifest's file name in the corpus directory; its lines
// are in sha256sum's format ("<hex>  <name>"), so `sha256sum -c` reads it.
const Manifest = "HISTORIES.sha256"

// kindPattern bounds what a recording may be called.
var kindPattern = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,40}$`)

// maxPerDay bounds the recordings of one kind on one day.
const maxPerDay = 99

// Add writes data as a new history of the kind, named
// <kind>-<YYYY-MM-DD>.json (with -2, -3, ... when the day has one
// already), and lists it in the manifest. It never overwrites a file.
func Add(dir, kind string, data []byte, day time.Time) (string, error) {
	if !kindPattern.MatchString(kind) {
		return "", fmt.Errorf("histories: kind %q: want lower-case letters, digits, - and _", kind)
	}
	base := kind + "-" + day.Format(time.DateOnly)
	for n := 1; n <= maxPerDay; n++ {
		name := base + ".json"
		if n > 1 {
			name = fmt.Sprintf("%s-%d.json", base, n)
		}
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		_, err = f.Write(data)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return "", err
		}
		m, err := os.OpenFile(filepath.Join(dir, Manifest), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return "", err
		}
		_, err = fmt.Fprintf(m, "%s  %s\n", digest(data), name)
		if cerr := m.Close(); err == nil {
			err = cerr
		}
		return filepath.Join(dir, name), err
	}
	return "", fmt.Errorf("histories: more than %d recordings of %s on %s", maxPerDay, kind, day.Format(time.DateOnly))
}

// Check verifies the corpus in dir against its manifest.
func Check(dir string) error {
	listed, err := read(filepath.Join(dir, Manifest))
	if err != nil {
		return err
	}
	var problems []string
	names := make([]string, 0, len(listed))
	for name := range listed {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		data, err := os.ReadFile(filepath.Join(dir, name))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			problems = append(problems, name+" is listed but was deleted")
		case err != nil:
			return err
		case digest(data) != listed[name]:
			problems = append(problems, name+" was changed after it was committed (record a new dated file instead)")
		}
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return err
	}
	for _, f := range files {
		if _, ok := listed[filepath.Base(f)]; !ok {
			problems = append(problems, filepath.Base(f)+" is not listed in "+Manifest)
		}
	}
	if len(problems) > 0 {
		return errors.New("histories: " + strings.Join(problems, "; "))
	}
	return nil
}

func read(path string) (map[string]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("histories: %w", err)
	}
	listed := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		sum, name, ok := strings.Cut(line, "  ")
		if !ok || len(sum) != sha256.Size*2 || name == "" || strings.ContainsAny(name, `/\`) {
			return nil, fmt.Errorf("histories: %s:%d: want \"<sha256>  <file>\"", Manifest, n)
		}
		if _, dup := listed[name]; dup {
			return nil, fmt.Errorf("histories: %s:%d: %s is listed twice", Manifest, n, name)
		}
		listed[name] = sum
	}
	return listed, sc.Err()
}

func digest(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
