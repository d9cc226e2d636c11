package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// standinFaults is the Twilio stand-in's count of what it answered during
// outages (twiliostandin.OutageStats).
type standinFaults struct {
	Answered500  int `json:"answered_500"`
	Answered429  int `json:"answered_429"`
	Hung         int `json:"hung"`
	HungAccepted int `json:"hung_accepted"`
	EarlyRetries int `json:"early_retries"`
}

func (c *chaos) run(n, rounds int, faults bool, timeout time.Duration) error {
	began := time.Now()
	if err := c.dev(); err != nil {
		return err
	}
	key, err := os.ReadFile(filepath.Join(c.root, ".dev", "api-key"))
	if err != nil {
		return err
	}
	c.key = strings.TrimSpace(string(key))
	if err := c.anyHour(); err != nil {
		return err
	}
	var before standinFaults
	if err := get(c.standin+"/_standin/faults", &before); err != nil {
		return fmt.Errorf("the Twilio stand-in has no outages (an old bin/twilio-standin?): %w", err)
	}
	p := newPlan(n)
	if err := c.seed(p); err != nil {
		return err
	}
	ids, err := c.createPrograms(p, "happy_call", "second_purchase")
	if err != nil {
		return err
	}
	c.say("run %s: %d buyers, %d lapsed, %d dormant; programs %v (stack up after %s)",
		p.run, len(p.buyers), len(p.lapsed), len(p.dormant), ids, time.Since(began).Round(time.Second))
	if err := c.purchases(p, faults); err != nil {
		return err
	}
	// The segment programs start now, so their messages meet the Twilio
	// and SMTP outages and the kills rather than the PostgreSQL restart
	// above (their sweeps, every 5s, must not enrol anyone twice).
	segment, err := c.createPrograms(p, "welcome_back", "dormant_wakeup")
	if err != nil {
		return err
	}
	for k, id := range segment {
		if err := c.call("POST", fmt.Sprintf("/v1/programs/%d/sweep", id), nil, nil); err != nil {
			return err
		}
		ids[k] = id
	}
	c.say("segment programs %v started", segment)
	if faults {
		if err := c.outages(); err != nil {
			return err
		}
	}
	for r := range rounds {
		for _, victim := range []string{"dangol", "temporal", "postgres"} {
			time.Sleep(4 * time.Second)
			if err := c.restart(victim); err != nil {
				return err
			}
		}
		c.say("round %d of kill -9 done", r+1)
	}
	if err := c.waitDone(p, timeout); err != nil {
		return err
	}
	var after standinFaults
	if err := get(c.standin+"/_standin/faults", &after); err != nil {
		return err
	}
	err = c.count(p, faults, standinFaults{
		Answered500: after.Answered500 - before.Answered500, Answered429: after.Answered429 - before.Answered429,
		Hung: after.Hung - before.Hung, HungAccepted: after.HungAccepted - before.HungAccepted,
		EarlyRetries: after.EarlyRetries - before.EarlyRetries,
	})
	c.say("run took %s (%d stack starts, %d failed and retried)", time.Since(began).Round(time.Second), c.devRestarts, c.devFailed)
	return err
}

// outages runs the Twilio outages one after the other while the
// messages of the purchases just taken come due (thank-you at once, the
// happy call's first touch 10s later, its second 25s later), with SMTP
// refusing connections while the happy call's first mails are due. Each
// Twilio outage lasts at least its span and until the stand-in has
// answered a call with it, so a slow machine cannot make a run pass
// without the fault having met a message.
func (c *chaos) outages() error {
	// The port was the proxy's a moment ago; another process taking it
	// meanwhile is a broken run, reported by the mail count.
	c.proxy.RefuseFor(15*time.Second, func(err error) { c.say("SMTP: %v", err) })
	c.say("SMTP: refusing connections for 15s")
	if err := c.outage("500", 5*time.Second, nil, func(f standinFaults) int { return f.Answered500 }); err != nil {
		return err
	}
	if err := c.outage("429", 6*time.Second, map[string]any{"retry_after": "3s"}, func(f standinFaults) int { return f.Answered429 }); err != nil {
		return err
	}
	// Longer than the SMS client's 10s timeout: each message is accepted
	// and its sender never hears so.
	return c.outage("hang", 8*time.Second, map[string]any{"hang": "30s"}, func(f standinFaults) int { return f.HungAccepted })
}

// maxOutage bounds an outage that meets no message.
const maxOutage = 60 * time.Second

func (c *chaos) outage(mode string, least time.Duration, extra map[string]any, met func(standinFaults) int) error {
	var before standinFaults
	if err := get(c.standin+"/_standin/faults", &before); err != nil {
		return err
	}
	body := map[string]any{"mode": mode, "for": maxOutage.String()}
	for k, v := range extra {
		body[k] = v
	}
	if err := post(c.standin+"/_standin/faults", body); err != nil {
		return err
	}
	began := time.Now()
	c.say("Twilio stand-in: %s %v", mode, extra)
	for {
		time.Sleep(500 * time.Millisecond)
		var now standinFaults
		if err := get(c.standin+"/_standin/faults", &now); err != nil {
			return err
		}
		if n := met(now) - met(before); (n > 0 && time.Since(began) >= least) || time.Since(began) >= maxOutage {
			if err := post(c.standin+"/_standin/faults", map[string]any{"mode": "none"}); err != nil {
				return err
			}
			c.say("Twilio stand-in: %s ended after %s, %d calls met it", mode, time.Since(began).Round(100*time.Millisecond), n)
			return nil
		}
	}
}

// purchases posts the buyers' purchases over about ten seconds. With
// faults, PostgreSQL is killed after the first third: the second third
// is posted at once, while it is down (each repeated after the 503's
// Retry-After until it is back), the rest once it is.
func (c *chaos) purchases(p *plan, pgKill bool) error {
	buy := func(id string) error {
		return c.call("POST", "/v1/purchases", map[string]any{"external_id": id + "-o", "customer_id": id, "amount": "10000", "currency": "KRW",
			"category": p.category, "product": "제품", "store": "강남점", "purchased_at": time.Now().UTC().Format(time.RFC3339)}, nil)
	}
	third := max(1, len(p.buyers)/3)
	first, during, rest := p.buyers[:third], p.buyers[third:min(2*third, len(p.buyers))], p.buyers[min(2*third, len(p.buyers)):]
	paced := func(ids []string, span time.Duration) error {
		gap, start := span/time.Duration(max(1, len(ids))), time.Now()
		return parallel(8, ids, func(id string) error {
			time.Sleep(time.Until(start.Add(gap * time.Duration(indexOf(ids, id)))))
			return buy(id)
		})
	}
	if err := paced(first, 3*time.Second); err != nil {
		return err
	}
	if !pgKill {
		return paced(append(during, rest...), 6*time.Second)
	}
	before := c.stats.snapshot()
	if err := c.kill("postgres"); err != nil {
		return err
	}
	c.say("killed PostgreSQL (SIGKILL) with %d purchases still to post", len(during)+len(rest))
	down := time.Now()
	// The killed postmaster's backends take a moment to notice and exit;
	// a purchase sent in that moment may still be taken.
	time.Sleep(time.Second)
	posted := make(chan error, 1)
	go func() { posted <- parallel(8, during, buy) }()
	// PostgreSQL is restarted only once the API has answered a purchase
	// 503 (or after a bound): on a fast machine a restart at once is back
	// before any purchase meets the outage, and the run proves nothing.
	for bound := time.Now().Add(15 * time.Second); c.stats.snapshot().unavailable == before.unavailable && time.Now().Before(bound); {
		time.Sleep(100 * time.Millisecond)
	}
	c.say("restarting PostgreSQL")
	if err := c.dev(); err != nil {
		return err
	}
	if err := <-posted; err != nil {
		return err
	}
	after := c.stats.snapshot()
	c.say("PostgreSQL back after %s; meanwhile the API answered %d×503 (%d without Retry-After) and %d×500",
		time.Since(down).Round(100*time.Millisecond), after.unavailable-before.unavailable,
		after.withoutRetryAfter-before.withoutRetryAfter, after.internal-before.internal)
	return paced(rest, 3*time.Second)
}

func (s *apiStats) snapshot() apiStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return apiStats{unavailable: s.unavailable, withoutRetryAfter: s.withoutRetryAfter, internal: s.internal, refused: s.refused}
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// waitDone waits until every program has all its enrolments, every
// enrolment has ended (but those of lingering programs) and every planned
// SMS has reached the stand-in; what arrived is then counted.
func (c *chaos) waitDone(p *plan, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		done, state := true, map[int64]map[string]int{}
		for id, want := range p.enrolments {
			var prog struct {
				Enrolments map[string]int `json:"enrolments"`
			}
			if err := c.call("GET", fmt.Sprintf("/v1/programs/%d", id), nil, &prog); err != nil {
				return err
			}
			all, ended := 0, 0
			for k, v := range prog.Enrolments {
				all += v
				if strings.HasPrefix(k, "ended") {
					ended += v
				}
			}
			state[id] = prog.Enrolments
			done = done && all == want && (ended == want || p.lingering[id])
		}
		missing := 0
		if done {
			e, err := c.edge(p)
			if err != nil {
				return err
			}
			for _, id := range p.customers() {
				for _, mk := range p.sms[id] {
					if e.sms[id][mk] == 0 {
						missing++
					}
				}
			}
			if missing == 0 {
				c.say("enrolments: %v; every planned SMS arrived", state)
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %s: enrolments %v, want %v ended (but welcome back's); %d planned SMS missing", timeout, state, p.enrolments, missing)
		}
		time.Sleep(2 * time.Second)
	}
}
