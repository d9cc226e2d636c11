package main

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// count checks what reached the edge against the plan: every planned SMS
// exactly once at the Twilio stand-in, every planned mail exactly once at
// the mail catcher (a missing one only if dangol records it ambiguous),
// and what the API and the stand-in saw of the faults.
func (c *chaos) count(p *plan, faults bool, tw standinFaults) error {
	e, err := c.edge(p)
	if err != nil {
		return err
	}
	sms, mail := e.sms, e.mail
	var problems []string
	smsWant, smsGot, mailWant, mailGot, ambiguous := 0, 0, 0, 0, 0
	for _, id := range p.customers() {
		for _, mk := range p.sms[id] {
			smsWant++
			got := sms[id][mk]
			smsGot += got
			if got != 1 {
				problems = append(problems, fmt.Sprintf("%s got SMS %s %d times", id, mk, got))
			}
		}
		for _, mk := range p.mail[id] {
			mailWant++
			got := mail[id][mk]
			mailGot += got
			switch {
			case got > 1:
				problems = append(problems, fmt.Sprintf("%s got mail %s %d times", id, mk, got))
			case got == 0:
				if c.ambiguousMail(id) {
					ambiguous++
				} else {
					problems = append(problems, fmt.Sprintf("%s got no mail %s and dangol does not say it is ambiguous", id, mk))
				}
			}
		}
	}
	st := c.stats.snapshot()
	c.say("at the edge: %d of %d planned SMS at the Twilio stand-in, %d of %d planned mails at the mail catcher (%d missing, recorded ambiguous)",
		smsGot, smsWant, mailGot, mailWant, ambiguous)
	c.say("Twilio stand-in answered %d×500, %d×429 (early retries after a 429: %d), hung %d calls (%d accepted messages); SMTP proxy passed %d connections",
		tw.Answered500, tw.Answered429, tw.EarlyRetries, tw.Hung, tw.HungAccepted, c.proxy.Passed())
	c.say("API: %d×503 (%d without Retry-After), %d×500, %d refused connections", st.unavailable, st.withoutRetryAfter, st.internal, st.refused)
	if st.internal > 0 {
		problems = append(problems, fmt.Sprintf("the API answered 500 %d times: %s", st.internal, strings.Join(st.internalBodies, " | ")))
	}
	if st.withoutRetryAfter > 0 {
		problems = append(problems, fmt.Sprintf("%d 503s without Retry-After", st.withoutRetryAfter))
	}
	if tw.EarlyRetries > 0 {
		problems = append(problems, fmt.Sprintf("%d SMS retries came back before the 429's Retry-After", tw.EarlyRetries))
	}
	if faults {
		// Each fault must have happened, or the run proved nothing about it.
		for what, n := range map[string]int{"503 during the PostgreSQL restart": st.unavailable, "Twilio 500": tw.Answered500,
			"Twilio 429": tw.Answered429, "Twilio hang after accepting": tw.HungAccepted} {
			if n == 0 {
				problems = append(problems, "no "+what+" happened: the faults missed the traffic")
			}
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		if len(problems) > 40 {
			problems = append(problems[:40], fmt.Sprintf("and %d more", len(problems)-40))
		}
		return errors.New(strings.Join(problems, "; "))
	}
	c.say("ok: every planned SMS exactly once, no mail twice, every enrolment ended (welcome back's wait for their coupons)")
	return nil
}

// edgeCounts is, per customer and marker, how many SMS the Twilio
// stand-in and how many mails the mail catcher received.
type edgeCounts struct {
	sms, mail map[string]map[string]int
}

func (c *chaos) edge(p *plan) (edgeCounts, error) {
	var msgs []struct {
		To   string `json:"to"`
		Body string `json:"body"`
	}
	if err := get(c.standin+"/_standin/messages", &msgs); err != nil {
		return edgeCounts{}, err
	}
	e := edgeCounts{sms: map[string]map[string]int{}, mail: map[string]map[string]int{}}
	bump := func(m map[string]map[string]int, id, mk string) {
		if m[id] == nil {
			m[id] = map[string]int{}
		}
		m[id][mk]++
	}
	byPhone := map[string]string{}
	for id, ph := range p.phone {
		byPhone[ph] = id
	}
	for _, m := range msgs {
		if id, ok := byPhone[m.To]; ok {
			for _, mk := range p.sms[id] {
				if strings.Contains(m.Body, mk) {
					bump(e.sms, id, mk)
				}
			}
		}
	}
	var mails []struct {
		Subject string `json:"subject"`
		To      []struct {
			Address string `json:"address"`
		} `json:"to"`
	}
	if err := get(c.mailUI+"/api/email", &mails); err != nil {
		return edgeCounts{}, err
	}
	byAddr := map[string]string{}
	for id, a := range p.email {
		byAddr[a] = id
	}
	for _, m := range mails {
		for _, to := range m.To {
			if id, ok := byAddr[to.Address]; ok {
				for _, mk := range p.mail[id] {
					if strings.Contains(m.Subject, mk) {
						bump(e.mail, id, mk)
					}
				}
			}
		}
	}
	return e, nil
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
