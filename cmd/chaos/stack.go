package main

import (
	"github.com/dangol/dangol/internal/tcpproxy"

	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// chaos is one run against the dev stack.
type chaos struct {
	root                   string
	api, standin, mailUI   string
	smtp                   string // maildev's SMTP address, behind the proxy
	key                    string
	proxy                  *tcpproxy.Proxy
	preexisting            bool // a developer's stack was up before the run
	settings               []byte
	programs               []int64
	stats                  *apiStats
	devRestarts, devFailed int
}

// port is the dev stack's port for a service: DEV_<NAME>_PORT as
// scripts/dev.sh reads it, or its default.
func port(name string, def int) string {
	if v := os.Getenv("DEV_" + name + "_PORT"); v != "" {
		return v
	}
	return strconv.Itoa(def)
}

func newChaos() (*chaos, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return nil, err
	}
	c := &chaos{
		root:    filepath.Dir(strings.TrimSpace(string(out))),
		api:     "http://127.0.0.1:" + port("API", 8080),
		standin: "http://127.0.0.1:" + port("STANDIN", 8089),
		mailUI:  "http://127.0.0.1:" + port("MAIL_UI", 1080),
		smtp:    "127.0.0.1:" + port("SMTP", 1025),
		stats:   &apiStats{},
	}
	resp, err := http.Get(c.api + "/healthz")
	if err == nil {
		resp.Body.Close()
		c.preexisting = true
	}
	// dangol sends mail to the proxy, which passes it to maildev until
	// told to refuse. Its port is picked here and handed to dev.sh, so
	// every restart below keeps dangol pointed at it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	// maildev cannot be told to refuse, and restarting it would lose the
	// mail it holds, which is what the run counts.
	c.proxy = tcpproxy.Serve(ln, c.smtp)
	os.Setenv("DEV_DANGOL_SMTP_PORT", strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	return c, nil
}

func (c *chaos) say(format string, args ...any) {
	fmt.Printf("chaos: %s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// dev (re)starts the stack. A start that fails is tried twice more and
// the failure shown: what chaos measures is delivery, and a restart that
// needs a second try (a killed PostgreSQL's backends still exiting) is
// make dev's to improve, reported here, not a lost message.
func (c *chaos) dev() error {
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		cmd := exec.Command("bash", filepath.Join(c.root, "scripts", "dev.sh"))
		cmd.Dir = c.root
		var out []byte
		if out, err = cmd.CombinedOutput(); err == nil {
			c.devRestarts++
			// Built once; restarts reuse the binaries.
			os.Setenv("DEV_SKIP_BUILD", "1")
			return nil
		}
		c.devFailed++
		err = fmt.Errorf("scripts/dev.sh: %w\n%s", err, out)
		c.say("restart attempt %d failed:\n%s", attempt, out)
		time.Sleep(2 * time.Second)
	}
	return err
}

// kill sends SIGKILL to a process make dev started, by its PID file.
func (c *chaos) kill(name string) error {
	raw, err := os.ReadFile(filepath.Join(c.root, ".dev", "pids", name+".pid"))
	if err != nil {
		return err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		return fmt.Errorf("%s pid file: %w", name, err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return err
	}
	// Restarting while the process is still exiting would find it
	// "running" (dev.sh checks by PID) and wait for a server that is gone.
	// A zombie is dead, but waiting (a while) for it to be reaped spares
	// dev.sh's check the moment it disappears.
	zombie := false
	for range 100 {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return nil
		}
		// The state follows the command name in parentheses.
		i := strings.LastIndexByte(string(stat), ')')
		zombie = i > 0 && strings.HasPrefix(string(stat[i:]), ") Z")
		time.Sleep(50 * time.Millisecond)
	}
	if zombie {
		return nil
	}
	return fmt.Errorf("%s (pid %d) still alive 5s after SIGKILL", name, pid)
}

// restart kills one process and restarts the stack.
func (c *chaos) restart(victim string) error {
	if err := c.kill(victim); err != nil {
		return err
	}
	c.say("killed %s (SIGKILL); restarting with scripts/dev.sh", victim)
	began := time.Now()
	if err := c.dev(); err != nil {
		return err
	}
	c.say("%s back after %s", victim, time.Since(began).Round(100*time.Millisecond))
	return nil
}

// anyHour stores settings under which the programs' messages go at once:
// no quiet hours, a cap no customer here reaches, no release spread. The
// stack's own settings are kept and put back by cleanup.
func (c *chaos) anyHour() error {
	var cur map[string]any
	raw, err := c.callRaw("GET", "/v1/settings", nil)
	if err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	if err := jsonUnmarshal(raw, &cur); err != nil {
		return err
	}
	c.settings = raw
	cur["quiet_hours"] = map[string]any{}
	cur["frequency_cap"] = map[string]any{"max": 100, "window_days": 1}
	cur["release_spread_minutes"] = 0
	for k, v := range map[string]string{"sender_name": "단골상점", "sender_contact": "02-555-0100", "opt_out_number": "080-555-0100"} {
		if s, _ := cur[k].(string); s == "" {
			cur[k] = v
		}
	}
	return c.call("PUT", "/v1/settings", cur, nil)
}

// cleanup stops this run's programs, puts the settings back and, on a
// developer's stack, points dangol at maildev again.
func (c *chaos) cleanup() {
	for _, id := range c.programs {
		if err := c.call("POST", fmt.Sprintf("/v1/programs/%d/stop", id), nil, nil); err != nil {
			c.say("stop program %d: %v", id, err)
		}
	}
	if c.settings != nil {
		var s map[string]any
		if jsonUnmarshal(c.settings, &s) == nil {
			if err := c.call("PUT", "/v1/settings", s, nil); err != nil {
				c.say("restore settings: %v", err)
			}
		}
	}
	c.proxy.Close()
	if c.preexisting {
		os.Unsetenv("DEV_DANGOL_SMTP_PORT")
		os.Unsetenv("DEV_SKIP_BUILD")
		c.say("pointing dangol at maildev again")
		if err := c.dev(); err != nil {
			c.say("%v", err)
		}
	}
}
