package bench_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/bench"
	"github.com/dangol/dangol/internal/testenv"
)

func TestMain(m *testing.M) {
	bench.RunWorkerIfChild() // the sections' worker processes are this test binary
	testenv.Main(m)
}

// TestSmoke runs every section at a tiny size on the real stack, so that
// the harness keeps compiling and working in CI; the figures themselves
// are `make bench`'s.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL, Temporal and worker processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var log bytes.Buffer
	cfg := bench.Config{N: 50, K: 50, Purchases: 50, PurchaseTime: 20 * time.Second, StartConcurrency: 32, IngestConcurrency: 16, Log: &log}
	env, err := bench.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { env.Close(t.Failed()) }()
	sections := []bench.Section{bench.Enrolment, bench.Ingest, bench.Memory, bench.History}
	figs, err := bench.Run(ctx, env, sections)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	bySection := map[string]int{}
	for _, f := range figs {
		bySection[f.Section]++
		positive := f.Unit == "/s" || f.Unit == "ms" || f.Section == bench.History.Name
		if positive && (f.Value <= 0 || f.Baseline <= 0) {
			t.Errorf("%s / %s = %v against %v: want both positive", f.Section, f.Name, f.Value, f.Baseline)
		}
	}
	for _, s := range sections {
		if bySection[s.Name] == 0 {
			t.Errorf("section %s gave no figures", s.Name)
		}
	}
	var table, md bytes.Buffer
	if err := bench.PrintTable(&table, figs); err != nil {
		t.Fatal(err)
	}
	if err := bench.WriteMarkdown(&md, bench.Describe(ctx, env, "make bench"), cfg, figs); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"enrolments asleep at their first timer", "purchases taken", "RSS per sleeping workflow", "happy_call events per touch"} {
		if !strings.Contains(table.String(), want) || !strings.Contains(md.String(), want) {
			t.Errorf("the table or the report lacks %q:\n%s\n%s", want, table.String(), md.String())
		}
	}
	t.Logf("\n%s", table.String())
}
