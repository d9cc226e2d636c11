package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/dangol/dangol/internal/testenv"
)

// Run runs the sections in order on env, logging each one's figures as it
// goes. A section that fails ends the run with its error; the figures of
// those before it are returned with it.
func Run(ctx context.Context, env *Env, sections []Section) ([]Figure, error) {
	var all []Figure
	for _, s := range sections {
		start := time.Now()
		env.logf("section %s", s.Name)
		figs, err := s.Run(ctx, env)
		if err != nil {
			return all, fmt.Errorf("section %s: %w", s.Name, err)
		}
		for i := range figs {
			figs[i].Section = s.Name
		}
		all = append(all, figs...)
		env.logf("section %s done in %s", s.Name, time.Since(start).Round(time.Second))
	}
	return all, nil
}

// Select returns the sections named in the comma-separated list, in the
// list's order; an empty list selects all.
func Select(all []Section, list string) ([]Section, error) {
	if strings.TrimSpace(list) == "" {
		return all, nil
	}
	var out []Section
	for name := range strings.SplitSeq(list, ",") {
		name = strings.TrimSpace(name)
		found := false
		for _, s := range all {
			if s.Name == name {
				out, found = append(out, s), true
				break
			}
		}
		if !found {
			var names []string
			for _, s := range all {
				names = append(names, s.Name)
			}
			return nil, fmt.Errorf("no section %q (have %s)", name, strings.Join(names, ", "))
		}
	}
	return out, nil
}

// Machine is where and how a run was made, for the report.
type Machine struct {
	CPUs       int
	CPUModel   string
	GoVersion  string
	OSArch     string
	Temporal   string // the dev server's CLI version
	PostgreSQL string
	Date       time.Time
	Command    string
}

// Describe fills in Machine for this process and env's servers.
func Describe(ctx context.Context, env *Env, command string) Machine {
	m := Machine{CPUs: runtime.NumCPU(), CPUModel: cpuModel(), GoVersion: runtime.Version(),
		OSArch: runtime.GOOS + "/" + runtime.GOARCH, Date: time.Now(), Command: command}
	if err := env.Store.Pool().QueryRow(ctx, "SHOW server_version").Scan(&m.PostgreSQL); err != nil {
		m.PostgreSQL = "?"
	}
	m.Temporal = "?"
	if bin, err := testenv.TemporalBinary(); err == nil {
		if out, err := exec.CommandContext(ctx, bin, "--version").Output(); err == nil {
			m.Temporal = strings.TrimSpace(string(out))
		}
	}
	return m
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "?"
	}
	for l := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}
