package bench

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// Failed lists the figures that miss their goal.
func Failed(figs []Figure) []Figure {
	var out []Figure
	for _, f := range figs {
		if pass, ok := f.Pass(); ok && !pass {
			out = append(out, f)
		}
	}
	return out
}

func verdict(f Figure) string {
	pass, ok := f.Pass()
	switch {
	case !ok:
		return ""
	case pass:
		return "pass"
	default:
		return "FAIL"
	}
}

func formatValue(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "-"
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// PrintTable writes the figures as an aligned table.
func PrintTable(w io.Writer, figs []Figure) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SECTION\tFIGURE\tDANGOL\tBASELINE\tRATIO\tUNIT\tGOAL\t")
	for _, f := range figs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", f.Section, f.Name, formatValue(f.Value), formatValue(f.Baseline),
			formatRatio(f.Ratio()), f.Unit, f.Goal, verdict(f))
	}
	return tw.Flush()
}

// WriteMarkdown writes BENCHMARKS.md: the figures, the machine and the
// command that reproduces them.
func WriteMarkdown(w io.Writer, m Machine, cfg Config, figs []Figure) error {
	var b strings.Builder
	b.WriteString("# Benchmarks\n\n")
	b.WriteString("Written by `make bench` (cmd/bench, package bench). Every figure is dangol's value next to a baseline measured in the\n")
	b.WriteString("same run on the same servers (PostgreSQL and the Temporal dev server started for the run), and their ratio;\n")
	b.WriteString("the goals are on the ratio. Shared machines are noisy: compare ratios, not rates, between runs.\n\n")
	fmt.Fprintf(&b, "Reproduce: `%s`\n\n", m.Command)
	b.WriteString("| Machine | |\n|---|---|\n")
	fmt.Fprintf(&b, "| Date | %s |\n", m.Date.UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "| CPU | %d × %s |\n", m.CPUs, m.CPUModel)
	fmt.Fprintf(&b, "| Go | %s (%s) |\n", m.GoVersion, m.OSArch)
	fmt.Fprintf(&b, "| Temporal dev server | %s |\n", strings.ReplaceAll(m.Temporal, "\n", "; "))
	fmt.Fprintf(&b, "| PostgreSQL | %s |\n", m.PostgreSQL)
	fmt.Fprintf(&b, "| Sizes | N=%d enrolments, K=%d sleeping, purchases ≤ %d or %s a side, start concurrency %d, ingest concurrency %d |\n\n",
		cfg.N, cfg.K, cfg.Purchases, cfg.PurchaseTime, cfg.StartConcurrency, cfg.IngestConcurrency)
	b.WriteString("| Section | Figure | dangol | baseline | ratio | unit | goal | |\n|---|---|--:|--:|--:|---|---|---|\n")
	for _, f := range figs {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", f.Section, f.Name, formatValue(f.Value), formatValue(f.Baseline),
			formatRatio(f.Ratio()), f.Unit, f.Goal, verdict(f))
	}
	b.WriteString("\n## What each figure counts\n\n")
	for _, f := range figs {
		if f.Note != "" {
			fmt.Fprintf(&b, "- **%s / %s**: %s\n", f.Section, f.Name, f.Note)
		}
	}
	if failed := Failed(figs); len(failed) > 0 {
		fmt.Fprintf(&b, "\n%d of the figures miss their goal.\n", len(failed))
	}
	for _, f := range figs {
		if f.Detail != "" {
			fmt.Fprintf(&b, "\n### %s / %s\n\n```\n%s\n```\n", f.Section, f.Name, strings.TrimRight(f.Detail, "\n"))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
