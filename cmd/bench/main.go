// Command bench measures dangol against the engine underneath on a local
// real stack it starts itself, prints a table and writes BENCHMARKS.md
// (`make bench`). See package bench.
//
//	go run ./cmd/bench [-n 20000] [-k 20000] [-scale-1m] [-sections enrolment,ingest] [-out BENCHMARKS.md]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/dangol/dangol/bench"
	"github.com/dangol/dangol/bench/dbbench"
	"github.com/dangol/dangol/internal/sendcost"
)

// sections is what a run measures, in order. A section is a bench.Section
// value from any package (internal/sendcost, bench/dbbench): to add one,
// write its Run func(ctx, *bench.Env) ([]bench.Figure, error) and list it
// here.
var sections = []bench.Section{
	bench.Enrolment,
	bench.Ingest,
	bench.Memory,
	bench.History,
	sendcost.Section,
	// Last: their seeds are the heaviest load on PostgreSQL.
	dbbench.Reports,
	dbbench.Audiences,
}

func main() {
	bench.RunWorkerIfChild()
	cfg := bench.Quick()
	n := flag.Int("n", cfg.N, "customers the enrolment section enrols")
	k := flag.Int("k", cfg.K, "sleeping enrolments the worker memory section holds (the enrolment section's are reused when k = n)")
	scale := flag.Bool("scale-1m", false, "full size: 1,000,000 enrolments, 100,000 sleeping in the worker (hours, not minutes)")
	only := flag.String("sections", "", "comma-separated sections to run (default all: "+names()+")")
	out := flag.String("out", "BENCHMARKS.md", "where to write the report (empty: do not write one)")
	strict := flag.Bool("strict", false, "exit 1 when a figure misses its goal")
	flag.Parse()
	if *scale {
		cfg = bench.Scale1M()
	} else {
		cfg.N, cfg.K = *n, *k
	}
	for _, v := range []struct {
		name string
		n    int
	}{{"-n", cfg.N}, {"-k", cfg.K}} {
		if v.n <= 0 || v.n > 10_000_000 {
			fail(fmt.Errorf("%s %d: want 1 to 10,000,000", v.name, v.n))
		}
	}
	chosen, err := bench.Select(sections, *only)
	if err != nil {
		fail(err)
	}
	cfg.Log = os.Stderr

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env, err := bench.Start(ctx, cfg)
	if err != nil {
		fail(err)
	}
	figs, err := bench.Run(ctx, env, chosen)
	if err != nil {
		env.Close(true)
		fail(err)
	}
	machine := bench.Describe(ctx, env, command())
	env.Close(false)

	if err := bench.PrintTable(os.Stdout, figs); err != nil {
		fail(err)
	}
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			fail(err)
		}
		if err := bench.WriteMarkdown(f, machine, cfg, figs); err != nil {
			fail(err)
		}
		if err := f.Close(); err != nil {
			fail(err)
		}
		fmt.Fprintf(os.Stderr, "bench: wrote %s\n", *out)
	}
	if failed := bench.Failed(figs); len(failed) > 0 {
		fmt.Fprintf(os.Stderr, "bench: %d figures miss their goal\n", len(failed))
		if *strict {
			os.Exit(1)
		}
	}
}

// command is how to run this again: `make bench` for a default run.
func command() string {
	args := os.Args[1:]
	if len(args) == 0 {
		return "make bench"
	}
	return "make bench BENCH_FLAGS='" + strings.Join(args, " ") + "'"
}

func names() string {
	var n []string
	for _, s := range sections {
		n = append(n, s.Name)
	}
	return strings.Join(n, ",")
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}
