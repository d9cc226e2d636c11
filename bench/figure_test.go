package bench

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestFigurePass(t *testing.T) {
	for _, c := range []struct {
		f          Figure
		pass, goal bool
	}{
		{Figure{Value: 90, Baseline: 100, Goal: Goal{AtLeast, 0.9}}, true, true},
		{Figure{Value: 89, Baseline: 100, Goal: Goal{AtLeast, 0.9}}, false, true},
		{Figure{Value: 125, Baseline: 100, Goal: Goal{AtMost, 1.25}}, true, true},
		{Figure{Value: 126, Baseline: 100, Goal: Goal{AtMost, 1.25}}, false, true},
		{Figure{Value: 1, Baseline: 0, Goal: Goal{AtLeast, 0.9}}, false, true}, // no baseline: cannot pass
		{Figure{Value: 1, Baseline: 2}, false, false},
	} {
		pass, goal := c.f.Pass()
		if pass != c.pass || goal != c.goal {
			t.Errorf("%+v: Pass() = %v, %v; want %v, %v", c.f, pass, goal, c.pass, c.goal)
		}
	}
}

func TestSelect(t *testing.T) {
	all := []Section{{Name: "a"}, {Name: "b"}, {Name: "c"}}
	got, err := Select(all, "c, a")
	if err != nil || len(got) != 2 || got[0].Name != "c" || got[1].Name != "a" {
		t.Fatalf("Select(c, a) = %v, %v", got, err)
	}
	if got, err := Select(all, ""); err != nil || len(got) != 3 {
		t.Fatalf("Select('') = %v, %v; want all", got, err)
	}
	if _, err := Select(all, "a,nope"); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("Select(a,nope) = %v; want an error naming nope", err)
	}
}

func TestPercentile(t *testing.T) {
	var l load
	for i := 1; i <= 100; i++ {
		l.latencies = append(l.latencies, time.Duration(i)*time.Millisecond)
	}
	if p := l.p(50); p != 50*time.Millisecond {
		t.Errorf("p50 = %s, want 50ms", p)
	}
	if p := l.p(99); p != 99*time.Millisecond {
		t.Errorf("p99 = %s, want 99ms", p)
	}
	if p := (load{latencies: []time.Duration{time.Second}}).p(99); p != time.Second {
		t.Errorf("p99 of one = %s, want 1s", p)
	}
}

func TestReportMarksFailures(t *testing.T) {
	figs := []Figure{
		{Section: "enrolment", Name: "rate", Value: 50, Baseline: 100, Unit: "/s", Goal: Goal{AtLeast, 0.9}},
		{Section: "ingest", Name: "p50", Value: 12, Baseline: 10, Unit: "ms"},
	}
	var table, md bytes.Buffer
	if err := PrintTable(&table, figs); err != nil {
		t.Fatal(err)
	}
	if err := WriteMarkdown(&md, Machine{Command: "make bench"}, Quick(), figs); err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{table.String(), md.String()} {
		if !strings.Contains(out, "50%") || !strings.Contains(out, "FAIL") || !strings.Contains(out, "120%") {
			t.Errorf("want the ratios 50%% and 120%% and a FAIL in:\n%s", out)
		}
	}
	if !strings.Contains(md.String(), "`make bench`") || len(Failed(figs)) != 1 {
		t.Errorf("report lacks the command or Failed is wrong (%d):\n%s", len(Failed(figs)), md.String())
	}
}
