// Command chaos checks exactly-once delivery the way a customer would: it
// runs happy calls on the `make dev` stack, kills the dangol process, the
// Temporal server and PostgreSQL with SIGKILL mid-run (restarting each
// with scripts/dev.sh), and then counts what the Twilio stand-in and the
// mail catcher received, not what dangol's tables say.
//
//	go run ./cmd/chaos [-customers 40] [-rounds 4]
//
// It exits 1 when any customer got an SMS or mail twice, or an SMS never,
// or an enrolment did not complete; mail that dangol recorded as
// ambiguous (the relay may or may not have it) is reported, not retried.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	customers := flag.Int("customers", 40, "customers, each bought once (4 SMS and 1 mail each)")
	rounds := flag.Int("rounds", 4, "rounds of kill -9: dangol, Temporal, PostgreSQL")
	timeout := flag.Duration("timeout", 6*time.Minute, "how long to wait for every enrolment to finish")
	flag.Parse()
	root, err := repoRoot()
	if err != nil {
		fail(err)
	}
	c := &chaos{root: root, api: "http://127.0.0.1:8080", standin: "http://127.0.0.1:8089", mail: "http://127.0.0.1:1080"}
	if err := c.run(*customers, *rounds, *timeout); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "chaos:", err)
	os.Exit(1)
}

type chaos struct {
	root, api, standin, mail, key string
}

func (c *chaos) say(format string, args ...any) {
	fmt.Printf("chaos: "+format+"\n", args...)
}

func (c *chaos) run(n, rounds int, timeout time.Duration) error {
	if err := c.dev(); err != nil {
		return err
	}
	key, err := os.ReadFile(filepath.Join(c.root, ".dev", "api-key"))
	if err != nil {
		return err
	}
	c.key = strings.TrimSpace(string(key))
	run := strconv.FormatInt(time.Now().Unix(), 36)
	category := "chaos-" + run
	// Four SMS and a mail per customer, over about a minute of program
	// time (offsets under an hour keep exact timing; see enrol).
	var prog struct {
		ID int64 `json:"id"`
	}
	err = c.call("POST", "/v1/programs", map[string]any{"name": "chaos " + run, "kind": "happy_call", "params": map[string]any{
		"categories": []string{category},
		"touches": []map[string]any{
			{"key": "t1", "offset": "10s", "sms": "[{{.Store}}] {{.Name}}님 t1 감사합니다", "email_subject": "{{.Name}}님 t1", "email": "t1 안내"},
			{"key": "t2", "offset": "25s", "sms": "{{.Name}}님 t2 안부"},
			{"key": "t3", "offset": "40s", "sms": "{{.Name}}님 t3 안부"},
			{"key": "t4", "offset": "55s", "sms": "{{.Name}}님 t4 감사"},
		}}}, &prog)
	if err != nil {
		return fmt.Errorf("create program: %w", err)
	}
	phones := map[string]string{}
	emails := map[string]string{}
	for i := range n {
		id := fmt.Sprintf("chaos-%s-%03d", run, i)
		phone := fmt.Sprintf("+82109%03d%04d", i, time.Now().Unix()%10000)
		email := id + "@chaos.example.com"
		phones[phone], emails[email] = id, id
		err := c.call("PUT", "/v1/customers/"+id, map[string]any{"name": "고객" + strconv.Itoa(i), "phone": phone, "email": email,
			"consent": map[string]any{"sms": map[string]any{"granted": true, "source": "chaos"}, "email": map[string]any{"granted": true, "source": "chaos"}}}, nil)
		if err != nil {
			return fmt.Errorf("customer %s: %w", id, err)
		}
		at := time.Now().UTC().Format(time.RFC3339)
		err = c.call("POST", "/v1/purchases", map[string]any{"external_id": id + "-o", "customer_id": id, "amount": "10000", "currency": "KRW",
			"category": category, "product": "제품", "store": "강남점", "purchased_at": at}, nil)
		if err != nil {
			return fmt.Errorf("purchase %s: %w", id, err)
		}
	}
	c.say("program %d: %d customers bought; killing processes for %d rounds", prog.ID, n, rounds)
	for r := range rounds {
		for _, victim := range []string{"dangol", "temporal", "postgres"} {
			time.Sleep(4 * time.Second)
			if err := c.kill(victim); err != nil {
				return err
			}
			c.say("round %d: killed %s; restarting with scripts/dev.sh", r+1, victim)
			if err := c.dev(); err != nil {
				return err
			}
		}
	}
	deadline := time.Now().Add(timeout)
	for {
		var p struct {
			Enrolments map[string]int `json:"enrolments"`
		}
		if err := c.call("GET", fmt.Sprintf("/v1/programs/%d", prog.ID), nil, &p); err == nil && p.Enrolments["ended:completed"] == n {
			break
		} else if time.Now().After(deadline) {
			return fmt.Errorf("enrolments after %s: %v (want %d ended:completed), last error %v", timeout, p.Enrolments, n, err)
		}
		time.Sleep(2 * time.Second)
	}
	return c.count(phones, emails)
}

// count checks what reached the edge: each customer exactly 4 SMS (t1-t4,
// each once) and at most one mail; a missing mail must be one dangol
// reports as ambiguous.
func (c *chaos) count(phones, emails map[string]string) error {
	var msgs []struct {
		To   string `json:"to"`
		Body string `json:"body"`
	}
	if err := c.get(c.standin+"/_standin/messages", &msgs); err != nil {
		return err
	}
	sms := map[string]map[string]int{}
	for _, m := range msgs {
		if _, ok := phones[m.To]; !ok {
			continue
		}
		if sms[m.To] == nil {
			sms[m.To] = map[string]int{}
		}
		for _, t := range []string{"t1", "t2", "t3", "t4"} {
			if strings.Contains(m.Body, t) {
				sms[m.To][t]++
			}
		}
	}
	var mails []struct {
		To []struct {
			Address string `json:"address"`
		} `json:"to"`
	}
	if err := c.get(c.mail+"/api/email", &mails); err != nil {
		return err
	}
	mail := map[string]int{}
	for _, m := range mails {
		for _, to := range m.To {
			if _, ok := emails[to.Address]; ok {
				mail[to.Address]++
			}
		}
	}
	var problems []string
	total := 0
	for phone, id := range phones {
		for _, t := range []string{"t1", "t2", "t3", "t4"} {
			total += sms[phone][t]
			if got := sms[phone][t]; got != 1 {
				problems = append(problems, fmt.Sprintf("%s got SMS %s %d times", id, t, got))
			}
		}
	}
	mailTotal, missing := 0, 0
	for addr, id := range emails {
		mailTotal += mail[addr]
		switch got := mail[addr]; {
		case got > 1:
			problems = append(problems, fmt.Sprintf("%s got the mail %d times", id, got))
		case got == 0:
			missing++
			if !c.ambiguousMail(id) {
				problems = append(problems, fmt.Sprintf("%s got no mail and dangol does not say it is ambiguous", id))
			}
		}
	}
	c.say("at the edge: %d of %d SMS, %d of %d mails (%d missing, each recorded as ambiguous)", total, 4*len(phones), mailTotal, len(emails), missing)
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	c.say("ok: every SMS exactly once, no mail twice, every enrolment completed")
	return nil
}

// ambiguousMail asks the journey whether the customer's mail is recorded
// as ambiguous.
func (c *chaos) ambiguousMail(customer string) bool {
	var j struct {
		Enrolments []struct {
			Messages []struct {
				Channel string `json:"channel"`
				Status  string `json:"status"`
			} `json:"messages"`
		} `json:"enrolments"`
	}
	if err := c.call("GET", "/v1/customers/"+customer+"/journey", nil, &j); err != nil {
		return false
	}
	for _, e := range j.Enrolments {
		for _, m := range e.Messages {
			if m.Channel == "email" && m.Status == "ambiguous" {
				return true
			}
		}
	}
	return false
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
			return nil
		}
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
	return syscall.Kill(pid, syscall.SIGKILL)
}

// call is an API request that retries while dangol is restarting.
func (c *chaos) call(method, path string, body, out any) error {
	var last error
	for range 60 {
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, c.api+path, rd)
		req.Header.Set("Authorization", "Bearer "+c.key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			last = err
			time.Sleep(time.Second)
			continue
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			last = fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, raw)
			time.Sleep(time.Second)
			continue
		}
		if resp.StatusCode >= 400 {
			return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, raw)
		}
		if out != nil {
			return json.Unmarshal(raw, out)
		}
		return nil
	}
	return last
}

func (c *chaos) get(url string, out any) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

func repoRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", err
	}
	return filepath.Dir(strings.TrimSpace(string(out))), nil
}
