package main

import (
	"fmt"
	"strconv"
	"sync"
	"time"
)

// plan is the run's customers and the messages each must receive once.
// Every template carries a marker ("[hc1]") so a message is known by its
// text at the edge, whatever dangol adds around it (advertising format,
// opt-out line, coupon code).
type plan struct {
	run      string
	category string // the happy call's, bought by the event group
	buyers   []string
	lapsed   []string // welcome back
	dormant  []string // wake-up
	phone    map[string]string
	email    map[string]string
	// sms and mail are the markers each customer must receive once.
	sms, mail map[string][]string
	// enrolments is how many enrolments each program must end with;
	// lingering are programs whose enrolments outlive their last message
	// (welcome back waits for its coupon to expire): they need not end.
	enrolments map[int64]int
	lingering  map[int64]bool
}

// Markers, one per planned message.
var (
	buyerSMS    = []string{"[hc1]", "[hc2]", "[hc3]", "[hc4]", "[sp1]", "[sp2]"}
	buyerMail   = []string{"[hc1m]"}
	lapsedSMS   = []string{"[wb1]", "[wb2]"}
	dormantSMS  = []string{"[dw1]", "[dw3]"}
	dormantMail = []string{"[dw2]"}
)

func newPlan(n int) *plan {
	run := strconv.FormatInt(time.Now().Unix(), 36)
	p := &plan{run: run, category: "chaos-" + run, phone: map[string]string{}, email: map[string]string{},
		sms: map[string][]string{}, mail: map[string][]string{}, enrolments: map[int64]int{}, lingering: map[int64]bool{}}
	lapsed, dormant := max(1, n/4), max(1, n/4)
	suffix := time.Now().Unix() % 10000
	add := func(group int, list *[]string, i int, sms, mail []string) {
		id := fmt.Sprintf("chaos-%s-%d-%03d", run, group, i)
		*list = append(*list, id)
		p.phone[id] = fmt.Sprintf("+8210%d%03d%04d", group, i, suffix)
		p.email[id] = id + "@chaos.example.com"
		p.sms[id], p.mail[id] = sms, mail
	}
	for i := range n - lapsed - dormant {
		add(1, &p.buyers, i, buyerSMS, buyerMail)
	}
	for i := range lapsed {
		add(2, &p.lapsed, i, lapsedSMS, nil)
	}
	for i := range dormant {
		add(3, &p.dormant, i, dormantSMS, dormantMail)
	}
	return p
}

func (p *plan) store(group string) string { return "chaos-" + p.run + "-" + group }

func (p *plan) customers() []string {
	return append(append(append([]string{}, p.buyers...), p.lapsed...), p.dormant...)
}

// seed creates every customer; the lapsed and the dormant get one
// purchase long ago at their group's store, which their programs' sweeps
// select (and nothing else does: no event program is active yet).
func (c *chaos) seed(p *plan) error {
	return parallel(8, p.customers(), func(id string) error {
		err := c.call("PUT", "/v1/customers/"+id, map[string]any{"name": "고객" + id[len(id)-3:], "phone": p.phone[id], "email": p.email[id],
			"consent": map[string]any{"sms": map[string]any{"granted": true, "source": "chaos"}, "email": map[string]any{"granted": true, "source": "chaos"}}}, nil)
		if err != nil {
			return fmt.Errorf("customer %s: %w", id, err)
		}
		var store string
		var ago int
		switch {
		case contains(p.lapsed, id):
			store, ago = p.store("lapsed"), 120
		case contains(p.dormant, id):
			store, ago = p.store("dormant"), 200
		default:
			return nil
		}
		at := time.Now().AddDate(0, 0, -ago).UTC().Format(time.RFC3339)
		return c.call("POST", "/v1/purchases", map[string]any{"external_id": id + "-old", "customer_id": id, "amount": "30000", "currency": "KRW",
			"category": "chaos-old", "product": "제품", "store": store, "purchased_at": at}, nil)
	})
}

// createPrograms creates the programs named (happy_call, second_purchase,
// welcome_back, dormant_wakeup), each on exact time (offsets under an
// hour) with no holdout, so every customer gets every message.
func (c *chaos) createPrograms(p *plan, keys ...string) (map[string]int64, error) {
	coupon := func(valid string) map[string]any {
		return map[string]any{"kind": "amount", "value": "5000", "valid_for": valid}
	}
	defs := []struct {
		key, kind string
		params    map[string]any
		count     int
	}{
		{"happy_call", "happy_call", map[string]any{"categories": []string{p.category}, "touches": []map[string]any{
			{"key": "t1", "offset": "10s", "sms": "[{{.Store}}] {{.Name}}님 [hc1] 감사합니다", "email_subject": "{{.Name}}님 [hc1m]", "email": "t1 안내"},
			{"key": "t2", "offset": "25s", "sms": "{{.Name}}님 [hc2] 안부"},
			{"key": "t3", "offset": "40s", "sms": "{{.Name}}님 [hc3] 안부"},
			{"key": "t4", "offset": "55s", "sms": "{{.Name}}님 [hc4] 감사"},
		}}, len(p.buyers)},
		{"second_purchase", "second_purchase", map[string]any{"holdout_percent": 0, "coupon_after": "30s", "coupon": coupon("30s"),
			"thank_you":      map[string]any{"text": "[{{.Store}}] {{.Name}}님 [sp1] 감사합니다"},
			"coupon_message": map[string]any{"text": "{{.Name}}님 [sp2] {{.Coupon}}"},
		}, len(p.buyers)},
		{"welcome_back", "welcome_back", map[string]any{"holdout_percent": 0, "lapsed_days": 90, "every": "5s",
			"audience": map[string]any{"stores": []string{p.store("lapsed")}},
			// The reminder goes 75s after the greeting: by design it is
			// skipped (silently) if the greeting went out after that
			// moment, which outages and kills must not cause. The
			// enrolment then waits for the coupon to expire, which the
			// run does not wait for (see waitDone).
			"coupon": coupon("6m"), "reminder_before": "4m45s",
			"greeting": map[string]any{"text": "{{.Name}}님 [wb1] {{.Coupon}}"},
			"reminder": map[string]any{"text": "{{.Name}}님 [wb2] {{.Coupon}}"},
		}, len(p.lapsed)},
		{"dormant_wakeup", "dormant_wakeup", map[string]any{"holdout_percent": 0, "lapsed_days": 180, "every": "5s",
			"audience": map[string]any{"stores": []string{p.store("dormant")}},
			"steps": []map[string]any{
				{"key": "d0", "offset": "0s", "channel": "sms", "message": map[string]any{"text": "{{.Name}}님 [dw1] 안부"}},
				{"key": "d1", "offset": "20s", "channel": "email", "message": map[string]any{"subject": "{{.Name}}님 [dw2]", "text": "새 소식"}},
				{"key": "d2", "offset": "40s", "channel": "sms", "message": map[string]any{"text": "{{.Name}}님 [dw3] 안부"}},
			}}, len(p.dormant)},
	}
	ids := map[string]int64{}
	for _, d := range defs {
		if !contains(keys, d.key) {
			continue
		}
		var prog struct {
			ID int64 `json:"id"`
		}
		if err := c.call("POST", "/v1/programs", map[string]any{"name": "chaos " + p.run + " " + d.key, "kind": d.kind, "params": d.params}, &prog); err != nil {
			return nil, fmt.Errorf("create %s: %w", d.key, err)
		}
		c.programs = append(c.programs, prog.ID)
		ids[d.key] = prog.ID
		p.enrolments[prog.ID] = d.count
		p.lingering[prog.ID] = d.kind == "welcome_back"
	}
	return ids, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// parallel runs f over items on at most n goroutines; the first error
// wins.
func parallel(n int, items []string, f func(string) error) error {
	work := make(chan string)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range work {
				if err := f(it); err != nil {
					errs <- err
					for range work {
					}
					return
				}
			}
		}()
	}
	for _, it := range items {
		work <- it
	}
	close(work)
	wg.Wait()
	close(errs)
	return <-errs
}
