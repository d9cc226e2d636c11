// Package histories keeps the replay corpus: workflow histories recorded
// from the real stack and committed, so that later workflow code is
// replayed against runs that may still be alive in production. The corpus
// is append-only, checksums included: a recording adds a new dated file
// and its own checksum file beside it (<name>.json.sha256) and never
// rewrites a committed file. HISTORIES.sha256 is the frozen list of the
// first recordings. Check fails when a listed file changed or went
// missing, or a history is not listed.
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

// Manifest is the frozen list of the first recordings; it and every
// recording's own checksum file are in sha256sum's format ("<hex>  <name>"),
// so `sha256sum -c *.sha256` reads them.
const Manifest = "HISTORIES.sha256"

// sumSuffix names a recording's own checksum file.
const sumSuffix = ".sha256"

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
	// A new corpus starts with an empty manifest (an existing one is left
	// as it is).
	if err := writeNew(filepath.Join(dir, Manifest), nil); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", err
	}
	base := kind + "-" + day.Format(time.DateOnly)
	for n := 1; n <= maxPerDay; n++ {
		name := base + ".json"
		if n > 1 {
			name = fmt.Sprintf("%s-%d.json", base, n)
		}
		err := writeNew(filepath.Join(dir, name), data)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		// Its checksum goes in a file of its own: no committed file, not
		// even a list, is ever rewritten.
		sum := fmt.Sprintf("%s  %s\n", digest(data), name)
		if err := writeNew(filepath.Join(dir, name+sumSuffix), []byte(sum)); err != nil {
			return "", err
		}
		return filepath.Join(dir, name), nil
	}
	return "", fmt.Errorf("histories: more than %d recordings of %s on %s", maxPerDay, kind, day.Format(time.DateOnly))
}

// writeNew creates the file with data; fs.ErrExist if it exists.
func writeNew(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Check verifies the corpus in dir against the frozen manifest and the
// recordings' own checksum files.
func Check(dir string) error {
	listed, err := read(filepath.Join(dir, Manifest), nil)
	if err != nil {
		return err
	}
	sums, err := filepath.Glob(filepath.Join(dir, "*.json"+sumSuffix))
	if err != nil {
		return err
	}
	for _, f := range sums {
		if listed, err = read(f, listed); err != nil {
			return err
		}
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
			problems = append(problems, filepath.Base(f)+" is not listed (in "+Manifest+" or its own "+filepath.Base(f)+sumSuffix+")")
		}
	}
	if len(problems) > 0 {
		return errors.New("histories: " + strings.Join(problems, "; "))
	}
	return nil
}

// read adds the checksums listed in the file at path to listed.
func read(path string, listed map[string]string) (map[string]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("histories: %w", err)
	}
	if listed == nil {
		listed = map[string]string{}
	}
	file := filepath.Base(path)
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		sum, name, ok := strings.Cut(line, "  ")
		if !ok || len(sum) != sha256.Size*2 || name == "" || strings.ContainsAny(name, `/\`) {
			return nil, fmt.Errorf("histories: %s:%d: want \"<sha256>  <file>\"", file, n)
		}
		if _, dup := listed[name]; dup {
			return nil, fmt.Errorf("histories: %s:%d: %s is listed twice", file, n, name)
		}
		listed[name] = sum
	}
	return listed, sc.Err()
}

func digest(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
