package testenv

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"testing"
)

// outcomeTB records whether need skipped or failed the test.
type outcomeTB struct {
	testing.TB
	outcome, msg string
}

type stop struct{}

func (f *outcomeTB) Helper() {}
func (f *outcomeTB) Skipf(format string, args ...any) {
	f.outcome, f.msg = "skip", fmt.Sprintf(format, args...)
	panic(stop{})
}
func (f *outcomeTB) Fatalf(format string, args ...any) {
	f.outcome, f.msg = "fatal", fmt.Sprintf(format, args...)
	panic(stop{})
}

func runNeed(err error) (outcome, msg string) {
	f := &outcomeTB{}
	func() {
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(stop); !ok {
					panic(r)
				}
			}
		}()
		need(f, "thing", err)
	}()
	return f.outcome, f.msg
}

// A missing server fails the test, pointing at `make test`; only -short
// turns that into a skip. Other errors always fail.
func TestNeed(t *testing.T) {
	orig := fmt.Sprint(testing.Short())
	t.Cleanup(func() { _ = flag.Set("test.short", orig) })
	missing := &notInstalledError{"thing not found"}
	broken := errors.New("thing crashed")

	for _, short := range []bool{false, true} {
		if err := flag.Set("test.short", fmt.Sprint(short)); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			err  error
			want string
		}{
			{missing, map[bool]string{false: "fatal", true: "skip"}[short]},
			{broken, "fatal"},
		} {
			got, msg := runNeed(c.err)
			if got != c.want {
				t.Errorf("short=%v, %v: outcome %q, want %q", short, c.err, got, c.want)
			}
			if c.err == missing && got == "fatal" && !strings.Contains(msg, "make test") {
				t.Errorf("message %q does not say to run make test", msg)
			}
		}
	}
}
