package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/coupons"
	"github.com/dangol/dangol/links"
	"github.com/dangol/dangol/programs"
	"github.com/dangol/dangol/twiliostandin"
)

var (
	robustSeed  = flag.Uint64("robust.seed", 20261124, "TestAPIRobustness: seed of the request generator")
	robustCount = flag.Int("robust.n", 3000, "TestAPIRobustness: number of generated requests")
)

// hostileRequest is one generated request.
type hostileRequest struct {
	method string
	route  string // the chi pattern it was made for
	path   string // escaped path and query
	body   []byte
	ctype  string
	header map[string]string
	// signForm, when set, signs the body as Twilio would (the form it
	// holds), so a hostile form gets past the signature check.
	signForm url.Values
	valid    bool // made from a valid example without mutation
}

func (h hostileRequest) String() string {
	b := h.body
	if len(b) > 400 {
		b = append(b[:400:400], fmt.Sprintf("... (%d bytes)", len(h.body))...)
	}
	return fmt.Sprintf("%s %s (route %s, Content-Type %q)\n%q", h.method, h.path, h.route, h.ctype, b)
}

// robustFixtures are the resources a request can name.
type robustFixtures struct {
	programs  map[string]int64 // by kind
	segment   int64            // an active audience program, for sweeps
	callTasks []int64
	coupons   []string // valid
	expired   []string
	token     string
	unsub     string   // a genuine unsubscribe link token of c-quiet's mail
	prefs     string   // a genuine preference page token of c-quiet
	customers []string // with purchases
	quiet     []string // without enrolments: journeys answer at once
	// erasable customers are for DELETE alone: no other example uses them
	// (an erased customer is 404 from then on).
	erasable   []string
	programIDs []string
}

func seedRobust(t *testing.T, e *env) *robustFixtures {
	t.Helper()
	ctx := context.Background()
	fx := &robustFixtures{programs: map[string]int64{}, customers: []string{"c-1", "c-2"}, quiet: []string{"c-quiet"}}
	for i := range 8 {
		fx.erasable = append(fx.erasable, fmt.Sprintf("c-erasable-%d", i))
	}
	for _, id := range slices.Concat([]string{"c-1", "c-2", "c-quiet"}, fx.erasable) {
		e.must(http.StatusCreated, "PUT", "/v1/customers/"+id, map[string]any{"name": "김민수", "phone": "+821012345678",
			"email": "minsu@example.com", "birthday": "1990-05-01", "consent": map[string]any{"sms": grant(true, "pos"), "email": grant(true, "pos")}}, nil)
	}
	for _, kind := range programs.Kinds {
		var p programOut
		e.must(http.StatusCreated, "POST", "/v1/programs", map[string]any{"name": kind, "kind": kind}, &p)
		fx.programs[kind] = p.ID
		fx.programIDs = append(fx.programIDs, fmt.Sprint(p.ID))
	}
	var sweep programOut
	e.must(http.StatusCreated, "POST", "/v1/programs", map[string]any{"name": "sweep", "kind": programs.KindDormantWakeup}, &sweep)
	fx.segment = sweep.ID

	fx.token = "robust-survey-token-000001"
	var enrolment, customer int64
	if err := e.db.QueryRow(ctx, `INSERT INTO enrolments (program_id, program_version, customer_id, workflow_id, status)
		SELECT $1, 1, id, 'robust-seed', 'active' FROM customers WHERE external_id = 'c-quiet' RETURNING id, customer_id`,
		fx.programs[programs.KindWelcomeBack]).Scan(&enrolment, &customer); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Exec(ctx, `INSERT INTO survey_links (token, enrolment_id, customer_id, step) VALUES ($1, $2, $3, 'survey')`, fx.token, enrolment, customer); err != nil {
		t.Fatal(err)
	}
	fx.unsub = unsubscribeToken(linkSecret, customer, "email", time.Now().Add(links.DefaultLifetime))
	fx.prefs = preferencesToken(linkSecret, customer, time.Now().Add(links.DefaultLifetime))
	for i := range 8 {
		var id int64
		if err := e.db.QueryRow(ctx, `INSERT INTO call_tasks (idempotency_key, customer_id, enrolment_id, due_at, kind)
			VALUES ($1, $2, $3, now(), $4) RETURNING id`, fmt.Sprintf("robust-%d", i), customer, enrolment, []string{"happy_call", "escalation"}[i%2]).Scan(&id); err != nil {
			t.Fatal(err)
		}
		fx.callTasks = append(fx.callTasks, id)
		code, err := coupons.NewCode()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.db.Exec(ctx, `INSERT INTO coupons (code, idempotency_key, program_id, enrolment_id, customer_id, kind, value, expires_at)
			VALUES ($1, $2, $3, $4, $5, 'amount', 10000, now() + $6 * interval '1 day')`,
			code, fmt.Sprintf("robust-%d", i), fx.programs[programs.KindWelcomeBack], enrolment, customer, 30-40*(i%2)); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			fx.coupons = append(fx.coupons, code)
		} else {
			fx.expired = append(fx.expired, code)
		}
	}
	return fx
}

// Hostile values a field, parameter or form value may get. Strings
// between @@ are spliced into the encoded JSON as raw bytes, since
// encoding/json cannot write invalid UTF-8 or a lone surrogate.
var hostileValues = []any{
	"", " ", "\x00", "a\x00b", "@@INVALID@@", "@@SURROGATE@@", "@@NULESC@@", "\u2028\u202e역방향", "😀",
	"' OR '1'='1", "'; DROP TABLE customers; --", "$1", `\\`, `"`, "%00", "%s%n",
	"{{range 100000000}}{{end}}", "{{range $i := 1000000}}x{{end}}", "{{.Name}}", `{{template "x"}}`, "{{", "{{.Nmae}}",
	"<script>alert(1)</script>", "../../../etc/passwd", "Asia/../../etc/passwd", "Local",
	"100000y100000y", strings.Repeat("100000h", 26), "-1d", "0s", "1mo", "99999999y",
	strings.Repeat("가", 201), strings.Repeat("x", 5000), strings.Repeat("y", 70000),
	"2026-13-45", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "1990-02-30",
	"+8201012345678", "+820000000", "010-1234-5678", "a@b", "KRW", "krw", "XXX",
	"1e400", "-5", "1.005", "99999999999999.99", "NaN",
	0, -1, 1.5, 1e308, -1e308, int64(9223372036854775807), "@@BIGINT@@", "@@HUGENUM@@",
	true, false, nil, []any{}, []any{1, "a", nil}, map[string]any{}, map[string]any{"a": map[string]any{"b": []any{}}},
}

// Raw bodies of every kind of wrong.
func hostileBodies(rng *rand.Rand) []byte {
	switch rng.IntN(12) {
	case 0:
		return nil
	case 1:
		return []byte("null")
	case 2:
		return []byte("[]")
	case 3:
		return []byte(`{"a":`)
	case 4:
		return bytes.Repeat([]byte("["), 100000)
	case 5:
		return []byte(`{"name":` + strings.Repeat(`{"a":`, 40) + "1" + strings.Repeat("}", 41))
	case 6:
		return append([]byte(`{"name":"`), append(bytes.Repeat([]byte("가"), 30000), `"}`...)...)
	case 7:
		return []byte("\xff\xfe\xfd")
	case 8:
		return []byte("name=a&b=c")
	case 9:
		return []byte(`{"a":1}{"b":2}`)
	case 10:
		return []byte(`"just a string"`)
	}
	return []byte(`{"name":"a","name":"\u0000"}`)
}

var splices = map[string]string{
	`"@@INVALID@@"`:   "\"a\xff\xfeb\xc3\x28\"",
	`"@@SURROGATE@@"`: `"x\udc00\ud800"`,
	`"@@NULESC@@"`:    `"\u0000"`,
	`"@@BIGINT@@"`:    `9223372036854775808`,
	`"@@HUGENUM@@"`:   `1e400`,
}

func encodeHostile(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	for k, raw := range splices {
		b = bytes.ReplaceAll(b, []byte(k), []byte(raw))
	}
	return b
}

// hostileParam is a path segment (already escaped) that is wrong.
func hostileParam(rng *rand.Rand, fx *robustFixtures) string {
	others := slices.Concat(fx.programIDs, fx.coupons, fx.expired, fx.customers, []string{fx.token, fmt.Sprint(fx.segment)})
	for _, id := range fx.callTasks {
		others = append(others, fmt.Sprint(id))
	}
	switch rng.IntN(4) {
	case 0:
		return url.PathEscape(others[rng.IntN(len(others))])
	case 1:
		return []string{"%00", "a%00b", "%FF", "%C0%AF", "%ED%A0%80", "%2F", "..", "%2E%2E", "%20", "%25"}[rng.IntN(10)]
	case 2:
		return []string{"0", "-1", "99999999999999999999", "9223372036854775807", "1e3", "0x10", "abc", "1.5", " 1"}[rng.IntN(9)]
	}
	if s, ok := hostileValues[rng.IntN(len(hostileValues))].(string); ok && !strings.HasPrefix(s, "@@") {
		return url.PathEscape(s)
	}
	return strings.Repeat("A", 1+rng.IntN(3000))
}

// mutate sets a random place in v (a decoded JSON value) to a hostile
// value, adds an unknown field or removes one.
func mutate(rng *rand.Rand, v any) any {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		out := map[string]any{}
		for k, v := range x {
			out[k] = v
		}
		if len(keys) == 0 || rng.IntN(10) == 0 {
			out[[]string{"unknown", "id", "status", "version", "created_at", "@@INVALID@@", "a\x00"}[rng.IntN(7)]] = hostileValues[rng.IntN(len(hostileValues))]
			return out
		}
		k := keys[rng.IntN(len(keys))]
		switch _, container := out[k].(map[string]any); {
		case rng.IntN(10) == 0:
			delete(out, k)
		case (container || isSlice(out[k])) && rng.IntN(6) != 0:
			out[k] = mutate(rng, out[k])
		default:
			out[k] = hostileFor(rng, k)
		}
		return out
	case []any:
		if len(x) == 0 || rng.IntN(8) == 0 {
			return append(slices.Clone(x), hostileValues[rng.IntN(len(hostileValues))])
		}
		out := slices.Clone(x)
		i := rng.IntN(len(out))
		out[i] = mutate(rng, out[i])
		return out
	}
	return hostileValues[rng.IntN(len(hostileValues))]
}

func isSlice(v any) bool {
	_, ok := v.([]any)
	return ok
}

// Values that hit what a field of this name does: spans that overflow
// when summed, templates that loop or misspell a field.
var (
	spanKeys      = []string{"offset", "valid_for", "coupon_after", "call_window", "cooldown", "every", "reminder_before", "before"}
	overflow      = strings.Repeat("100000h", 26)
	spanValues    = []any{"100000y100000y", "100000y100000y", "50000y50000y50000y", overflow, overflow, "99999y", "100000y", "1000000d", "0s", "-3d", "3x", "", 3}
	templateKeys  = []string{"sms", "email", "text", "subject", "fallback_sms", "call_script", "email_subject"}
	templateValue = []any{"{{range 100000000}}{{end}}", "{{.Nmae}}", "{{", "{{.Name}}" + strings.Repeat("가", 2000), "{{printf \"%0999999d\" 1}}", "\x00", "@@INVALID@@"}
)

func hostileFor(rng *rand.Rand, key string) any {
	if rng.IntN(2) == 0 {
		switch {
		case slices.Contains(spanKeys, key):
			return spanValues[rng.IntN(len(spanValues))]
		case slices.Contains(templateKeys, key):
			return templateValue[rng.IntN(len(templateValue))]
		}
	}
	return hostileValues[rng.IntN(len(hostileValues))]
}

// example is a valid request for a route; n makes ids unique.
type example func(rng *rand.Rand, fx *robustFixtures, n int) (params map[string]string, body any)

func robustExamples() map[string]example {
	pick := func(rng *rand.Rand, s []string) string { return s[rng.IntN(len(s))] }
	program := func(rng *rand.Rand, fx *robustFixtures) string { return pick(rng, fx.programIDs) }
	return map[string]example{
		"GET /healthz":      func(*rand.Rand, *robustFixtures, int) (map[string]string, any) { return nil, nil },
		"GET /readyz":       func(*rand.Rand, *robustFixtures, int) (map[string]string, any) { return nil, nil },
		"GET /openapi.json": func(*rand.Rand, *robustFixtures, int) (map[string]string, any) { return nil, nil },
		"GET /docs":         func(*rand.Rand, *robustFixtures, int) (map[string]string, any) { return nil, nil },
		"GET /s/{token}": func(_ *rand.Rand, fx *robustFixtures, _ int) (map[string]string, any) {
			return map[string]string{"token": fx.token}, nil
		},
		"POST /s/{token}": func(_ *rand.Rand, fx *robustFixtures, _ int) (map[string]string, any) {
			return map[string]string{"token": fx.token}, url.Values{"answer": {"직원이 무관심했어요"}, "comment": {"다음에 또 올게요"}}
		},
		"GET /u/{token}": func(_ *rand.Rand, fx *robustFixtures, _ int) (map[string]string, any) {
			return map[string]string{"token": fx.unsub}, nil
		},
		"POST /u/{token}": func(_ *rand.Rand, fx *robustFixtures, _ int) (map[string]string, any) {
			return map[string]string{"token": fx.unsub}, url.Values{"List-Unsubscribe": {"One-Click"}}
		},
		"GET /p/{token}": func(_ *rand.Rand, fx *robustFixtures, _ int) (map[string]string, any) {
			return map[string]string{"token": fx.prefs}, nil
		},
		"POST /p/{token}": func(rng *rand.Rand, fx *robustFixtures, _ int) (map[string]string, any) {
			form := url.Values{"save": {"1"}}
			for _, ch := range []string{"sms", "email", "call", "night"} {
				if rng.IntN(2) == 0 {
					form.Set(ch, "on")
				}
			}
			return map[string]string{"token": fx.prefs}, form
		},
		"POST /v1/opt-outs/": func(rng *rand.Rand, _ *robustFixtures, n int) (map[string]string, any) {
			return nil, map[string]any{"opt_outs": []any{
				map[string]any{"phone": pick(rng, []string{"010-1234-5678", "+821012345678", fmt.Sprintf("010-9%03d-%04d", n%1000, n%10000)}),
					"time": time.Now().Add(-time.Duration(1+rng.IntN(100)) * time.Hour).Format(time.RFC3339), "source": "080-vendor"},
				map[string]any{"phone": fmt.Sprintf("+8210%08d", n)},
			}}
		},
		"POST /v1/audiences:preview/": func(*rand.Rand, *robustFixtures, int) (map[string]string, any) {
			return nil, map[string]any{"audience": map[string]any{"last_purchase_older_than_days": 30, "stores": []any{"강남점"}, "consent": "sms"}}
		},
		"GET /v1/call-tasks/":   func(*rand.Rand, *robustFixtures, int) (map[string]string, any) { return nil, nil },
		"GET /v1/consents:due/": func(*rand.Rand, *robustFixtures, int) (map[string]string, any) { return nil, nil },
		"POST /v1/call-tasks/{id}/complete": func(rng *rand.Rand, fx *robustFixtures, _ int) (map[string]string, any) {
			return map[string]string{"id": fmt.Sprint(fx.callTasks[rng.IntN(len(fx.callTasks))])}, map[string]any{"outcome": "reached", "note": "통화 완료"}
		},
		"GET /v1/coupons/{code}": func(rng *rand.Rand, fx *robustFixtures, _ int) (map[string]string, any) {
			return map[string]string{"code": pick(rng, fx.coupons)}, nil
		},
		"POST /v1/coupons/{code}/redeem": func(rng *rand.Rand, fx *robustFixtures, n int) (map[string]string, any) {
			return map[string]string{"code": pick(rng, fx.coupons)}, map[string]any{"order_id": fmt.Sprintf("order-%d", n)}
		},
		"PUT /v1/customers/{externalID}": func(rng *rand.Rand, fx *robustFixtures, n int) (map[string]string, any) {
			return map[string]string{"externalID": fmt.Sprintf("r-%d", n)}, map[string]any{"name": "이영희", "phone": "+821098765432",
				"email": "yh@example.com", "birthday": "1985-11-30", "time_zone": "Asia/Seoul", "locale": "ko-KR",
				"country": pick(rng, []string{"KR", "US"}),
				"consent": map[string]any{"sms": grant(rng.IntN(2) == 0, "pos"), "call": grant(true, "call"), "night": grant(rng.IntN(2) == 0, "web")}}
		},
		// Each erasable customer is erased once (2xx), then 404.
		"DELETE /v1/customers/{externalID}": func(_ *rand.Rand, fx *robustFixtures, n int) (map[string]string, any) {
			return map[string]string{"externalID": fx.erasable[n%len(fx.erasable)]}, nil
		},
		"GET /v1/customers/{externalID}": func(rng *rand.Rand, fx *robustFixtures, _ int) (map[string]string, any) {
			return map[string]string{"externalID": pick(rng, slices.Concat(fx.customers, fx.quiet))}, nil
		},
		// The journey reads the database and queries running enrolments
		// within a one-second budget, so customers with enrolments are fine.
		"GET /v1/customers/{externalID}/journey": func(rng *rand.Rand, fx *robustFixtures, _ int) (map[string]string, any) {
			return map[string]string{"externalID": pick(rng, slices.Concat(fx.customers, fx.quiet))}, nil
		},
		"GET /v1/customers/{externalID}/consents": func(rng *rand.Rand, fx *robustFixtures, _ int) (map[string]string, any) {
			return map[string]string{"externalID": pick(rng, slices.Concat(fx.customers, fx.quiet))}, nil
		},
		"GET /v1/settings/": func(*rand.Rand, *robustFixtures, int) (map[string]string, any) { return nil, nil },
		"PUT /v1/settings/": func(rng *rand.Rand, _ *robustFixtures, n int) (map[string]string, any) {
			return nil, map[string]any{"sender_name": "한빛전자", "sender_contact": "02-123-4567", "opt_out_number": "080-123-4567",
				"default_time_zone": "Asia/Seoul", "default_country": "KR",
				"quiet_hours": map[string]any{
					"KR": map[string]any{"start": "21:00", "end": "08:00", "purposes": []any{"marketing"}, "night_consent": true},
					"US": map[string]any{"start": "21:00", "end": "08:00", "purposes": []any{"marketing", "service"}},
				},
				"frequency_cap": map[string]any{"max": 1 + n%3, "window_days": 7}, "reconfirm_every_days": 730, "release_spread_minutes": 30}
		},
		"POST /v1/programs/": func(rng *rand.Rand, _ *robustFixtures, n int) (map[string]string, any) {
			kind := pick(rng, programs.Kinds)
			params := map[string]any{}
			switch kind {
			case programs.KindHappyCall:
				params = map[string]any{"categories": []any{"가전"}, "call_window": "2d",
					"touches": []any{map[string]any{"offset": "3d", "sms": "{{.Name}}님 감사합니다"}, map[string]any{"offset": "1mo", "email_subject": "안녕하세요", "email": "본문"}}}
			case programs.KindWelcomeBack:
				params = map[string]any{"lapsed_days": 60, "coupon": map[string]any{"kind": "percent", "value": "10", "valid_for": "30d"},
					"audience": map[string]any{"stores": []any{"강남점"}}}
			}
			return nil, map[string]any{"name": fmt.Sprintf("프로그램 %d", n), "kind": kind, "params": params}
		},
		"GET /v1/programs/": func(*rand.Rand, *robustFixtures, int) (map[string]string, any) { return nil, nil },
		"GET /v1/programs/{id}": func(rng *rand.Rand, fx *robustFixtures, _ int) (map[string]string, any) {
			return map[string]string{"id": program(rng, fx)}, nil
		},
		"PATCH /v1/programs/{id}": func(rng *rand.Rand, fx *robustFixtures, n int) (map[string]string, any) {
			id := fx.programs[programs.KindHappyCall]
			return map[string]string{"id": fmt.Sprint(id)}, map[string]any{"name": fmt.Sprintf("해피콜 %d", n),
				"params": map[string]any{"touches": []any{map[string]any{"offset": fmt.Sprintf("%dd", 1+n%30), "sms": "감사합니다"}}}}
		},
		"POST /v1/programs/{id}/sweep": func(_ *rand.Rand, fx *robustFixtures, _ int) (map[string]string, any) {
			return map[string]string{"id": fmt.Sprint(fx.segment)}, nil
		},
		"POST /v1/programs/{id}/preview": func(rng *rand.Rand, fx *robustFixtures, _ int) (map[string]string, any) {
			return map[string]string{"id": program(rng, fx)}, map[string]any{"customer_id": pick(rng, slices.Concat(fx.customers, fx.quiet)),
				"at": time.Now().Add(time.Duration(rng.IntN(48)) * time.Hour).Format(time.RFC3339)}
		},
		"POST /v1/programs:preview/": func(rng *rand.Rand, fx *robustFixtures, _ int) (map[string]string, any) {
			return nil, map[string]any{"program": map[string]any{"name": "미리보기", "kind": programs.KindDormantWakeup,
				"params": map[string]any{"steps": []any{map[string]any{"offset": "30m", "channel": "sms", "message": map[string]any{"text": "{{.Name}}님, 오랜만이에요"}}}}},
				"at": time.Now().Format(time.RFC3339)}
		},
		"POST /v1/programs:forecast/": func(rng *rand.Rand, _ *robustFixtures, _ int) (map[string]string, any) {
			kind := pick(rng, []string{programs.KindHappyCall, programs.KindWelcomeBack, programs.KindDormantWakeup})
			return nil, map[string]any{"program": map[string]any{"name": "예측", "kind": kind}}
		},
		"GET /v1/programs/{id}/report": func(rng *rand.Rand, fx *robustFixtures, _ int) (map[string]string, any) {
			return map[string]string{"id": program(rng, fx)}, nil
		},
		"GET /v1/programs/{id}/report.csv": func(rng *rand.Rand, fx *robustFixtures, _ int) (map[string]string, any) {
			return map[string]string{"id": program(rng, fx)}, nil
		},
		"POST /v1/programs/{id}/{action:pause|resume|stop}": func(rng *rand.Rand, fx *robustFixtures, _ int) (map[string]string, any) {
			return map[string]string{"id": program(rng, fx), "action": pick(rng, []string{"pause", "resume", "pause"})}, nil
		},
		"POST /v1/purchases/": func(rng *rand.Rand, fx *robustFixtures, n int) (map[string]string, any) {
			return nil, map[string]any{"external_id": fmt.Sprintf("order-%d", n), "customer_id": pick(rng, fx.customers),
				"amount": pick(rng, []string{"1290000", "10000000000", "0", "35000.00"}), "currency": "KRW",
				"category": pick(rng, []string{"가전", "의류"}), "product": "냉장고", "store": "강남점",
				"purchased_at": time.Now().Add(-time.Duration(1+rng.IntN(1000)) * time.Hour).Format(time.RFC3339)}
		},
		"POST /webhooks/twilio/status": func(*rand.Rand, *robustFixtures, int) (map[string]string, any) {
			return nil, url.Values{"MessageSid": {"SM00000000000000000000000000000099"}, "MessageStatus": {"delivered"}}
		},
		"POST /webhooks/twilio/inbound": func(rng *rand.Rand, _ *robustFixtures, _ int) (map[string]string, any) {
			return nil, url.Values{"MessageSid": {"SM00000000000000000000000000000098"}, "From": {"+821012345678"},
				"Body": {pick(rng, []string{"STOP", "수신거부", "잘 쓰고 있어요"})}}
		},
	}
}

var paramPattern = regexp.MustCompile(`\{([^}:]+)(:[^}]*)?\}`)

// build turns a route and its example into a request; hostile (when
// true) applies one to three mutations.
func build(rng *rand.Rand, e *env, fx *robustFixtures, method, route string, ex example, n int, hostile bool) hostileRequest {
	params, body := ex(rng, fx, n)
	req := hostileRequest{method: method, route: route, header: map[string]string{"Authorization": "Bearer " + e.key}, valid: !hostile}
	escaped := map[string]string{}
	for k, v := range params {
		escaped[k] = url.PathEscape(v)
	}
	form, isForm := body.(url.Values)
	query := url.Values{}
	var raw []byte
	rawSet := false
	if hostile {
		mutations := 1
		if rng.IntN(5) < 2 {
			mutations += 1 + rng.IntN(2)
		}
		for range mutations {
			switch k := rng.IntN(20); {
			case k < 4 && len(params) > 0:
				names := slices.Sorted(maps.Keys(params))
				escaped[names[rng.IntN(len(names))]] = hostileParam(rng, fx)
			case k < 11 && body != nil && !isForm:
				body = mutate(rng, body)
			case k < 11 && isForm:
				form = url.Values(cloneValues(form))
				name := []string{"answer", "comment", "MessageSid", "MessageStatus", "ErrorCode", "x", "sms", "save"}[rng.IntN(8)]
				v := hostileValues[rng.IntN(len(hostileValues))]
				s, _ := v.(string)
				switch s {
				case "@@INVALID@@":
					s = "a\xffb"
				case "@@SURROGATE@@", "@@NULESC@@":
					s = "\x00"
				}
				form.Set(name, s)
			case k < 13:
				raw, rawSet = hostileBodies(rng), true
			case k < 17:
				name := []string{"status", "kind", "store", "due_before", "limit", "store", "cursor"}[rng.IntN(7)]
				v, _ := hostileValues[rng.IntN(len(hostileValues))].(string)
				query.Add(name, v)
				if rng.IntN(3) == 0 {
					query.Add(name, "%FF") // escaped again: a literal "%FF"
				}
			case k == 17:
				delete(req.header, "Authorization")
				if rng.IntN(2) == 0 {
					req.header["Authorization"] = "Bearer dgl_" + strings.Repeat("0", 64)
				}
			case k == 18:
				req.method = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}[rng.IntN(5)]
			default:
				if isForm {
					req.header["Content-Type"] = "application/json"
				}
				raw, rawSet = encodeHostile(map[string]any{"answer": "x"}), true
			}
		}
	}
	path := paramPattern.ReplaceAllStringFunc(route, func(m string) string {
		return escaped[paramPattern.FindStringSubmatch(m)[1]]
	})
	if hostile && rng.IntN(2) == 0 {
		path = strings.TrimSuffix(path, "/")
	}
	if len(query) > 0 {
		path += "?" + query.Encode()
		if rng.IntN(3) == 0 {
			path += "&" + []string{"%00=1", "store=%00", "status=%FF", "kind=%zz", "due_before=" + url.QueryEscape("9999-99-99T00:00:00Z")}[rng.IntN(5)]
		}
	}
	req.path = path
	switch {
	case rawSet:
		req.body = raw
		if req.header["Content-Type"] == "" {
			req.ctype = "application/json"
			if isForm && rng.IntN(2) == 0 {
				req.ctype = "application/x-www-form-urlencoded"
			}
		} else {
			req.ctype = req.header["Content-Type"]
		}
	case isForm:
		req.body = []byte(form.Encode())
		req.ctype = "application/x-www-form-urlencoded"
		if strings.HasPrefix(route, "/webhooks/") && (!hostile || rng.IntN(2) == 0) {
			req.signForm = form
		}
	case body != nil:
		req.body = encodeHostile(body)
		req.ctype = "application/json"
	}
	return req
}

func cloneValues(v url.Values) map[string][]string {
	out := map[string][]string{}
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

func (e *env) send(h hostileRequest) (response, error) {
	hdr := map[string]string{}
	for k, v := range h.header {
		hdr[k] = v
	}
	if h.ctype != "" {
		hdr["Content-Type"] = h.ctype
	}
	if h.signForm != nil {
		hdr["X-Twilio-Signature"] = twiliostandin.Signature(twilioToken, e.url+h.path, h.signForm)
	}
	var body any
	if h.body != nil {
		body = h.body
	}
	return e.do(e.url, h.method, h.path, body, hdr)
}

// TestAPIRobustness sends a few thousand generated hostile requests over
// every route of the router (walked, so a new route is covered as it is
// added; one without a valid example fails the test), then checks the
// database's integrity. Only 4xx may answer hostile input (every 400 names
// its field); valid examples get 2xx.
func TestAPIRobustness(t *testing.T) {
	if testing.Short() {
		t.Skip("a few thousand requests")
	}
	t.Parallel()
	e := newEnv(t)
	fx := seedRobust(t, e)
	examples := robustExamples()
	t.Cleanup(func() { e.terminateEnrolments() })

	type route struct{ method, pattern string }
	var routes []route
	handler := (&api.Server{Store: e.st, Temporal: e.tc, TaskQueue: e.queue}).Handler()
	if err := chi.Walk(handler.(chi.Routes), func(method, pattern string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		routes = append(routes, route{method, pattern})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, r := range routes {
		if examples[r.method+" "+r.pattern] == nil {
			t.Fatalf("route %s %s has no valid example in robustExamples: add one so the robustness test covers it", r.method, r.pattern)
		}
	}

	rng := rand.New(rand.NewPCG(*robustSeed, *robustSeed^0x9e3779b97f4a7c15))
	// Each route once with its valid example, in order, then the hostile
	// mix, about one request in ten left valid.
	var reqs []hostileRequest
	for i, r := range routes {
		reqs = append(reqs, build(rng, e, fx, r.method, r.pattern, examples[r.method+" "+r.pattern], i, false))
	}
	baseline := len(reqs)
	// The issue's own findings come first, so the rest of the run meets
	// the programs they break (unless the create refuses them).
	for _, body := range []map[string]any{
		{"name": "x", "kind": "happy_call", "params": map[string]any{"touches": []any{map[string]any{"offset": "100000y100000y", "sms": "x"}}}},
		{"name": "x", "kind": "welcome_back", "params": map[string]any{"coupon": map[string]any{"valid_for": "100000y100000y"}}},
	} {
		reqs = append(reqs, hostileRequest{method: "POST", route: "/v1/programs/", path: "/v1/programs", body: encodeHostile(body),
			ctype: "application/json", header: map[string]string{"Authorization": "Bearer " + e.key}})
	}
	reqs = append(reqs, hostileRequest{method: "PATCH", route: "/v1/programs/{id}", path: fmt.Sprintf("/v1/programs/%d", fx.programs[programs.KindSecondPurchase]),
		body: []byte(`{"params":{"coupon":{"valid_for":"100000y100000y"}}}`), ctype: "application/json", header: map[string]string{"Authorization": "Bearer " + e.key}})

	// Routes that store what a body says are drawn three times as often.
	var draw []route
	for _, r := range routes {
		draw = append(draw, r)
		if r.method != "GET" && !strings.HasSuffix(r.pattern, "}") && !strings.HasSuffix(r.pattern, "sweep") {
			draw = append(draw, r, r)
		}
	}
	for i := range *robustCount {
		r := draw[rng.IntN(len(draw))]
		reqs = append(reqs, build(rng, e, fx, r.method, r.pattern, examples[r.method+" "+r.pattern], baseline+i, rng.IntN(10) != 0))
	}

	start := time.Now()
	for _, h := range reqs[:baseline] {
		r, err := e.send(h)
		if err != nil {
			t.Fatal(err)
		}
		if r.status < 200 || r.status > 299 {
			t.Fatalf("valid example answered %d: %s\n%s", r.status, h, r.body)
		}
	}

	var (
		mu       sync.Mutex
		failures []string
		statuses = map[int]int{}
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		failures = append(failures, fmt.Sprintf(format, args...))
	}
	work := make(chan hostileRequest)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for h := range work {
				r, err := e.send(h)
				if err != nil {
					fail("%s\n%v", h, err)
					continue
				}
				mu.Lock()
				statuses[r.status]++
				mu.Unlock()
				switch {
				case r.status >= 500:
					fail("%d for %s\n%s", r.status, h, r.body)
				case r.status == http.StatusBadRequest && r.field() == "":
					fail("400 without a field for %s\n%s", h, r.body)
				}
			}
		})
	}
	for _, h := range reqs[baseline:] {
		work <- h
	}
	close(work)
	wg.Wait()
	t.Logf("%d requests over %d routes in %s (seed %d); statuses %v", len(reqs), len(routes), time.Since(start).Round(time.Millisecond), *robustSeed, statuses)
	if len(failures) > 0 {
		t.Fatalf("%d bad answers; the first:\n%s", len(failures), failures[0])
	}
	e.checkIntegrity()
}

// checkIntegrity finds what no sequence of requests may leave behind.
func (e *env) checkIntegrity() {
	e.t.Helper()
	ctx := context.Background()
	rows, err := e.db.Query(ctx, `
		SELECT 'program without its version row', count(*) FROM programs p
			WHERE NOT EXISTS (SELECT 1 FROM program_versions v WHERE v.program_id = p.id AND v.version = p.version)
		UNION ALL SELECT 'enrolment without its program version', count(*) FROM enrolments e
			WHERE NOT EXISTS (SELECT 1 FROM program_versions v WHERE v.program_id = e.program_id AND v.version = e.program_version)
		UNION ALL SELECT 'enrolment without its customer', count(*) FROM enrolments e LEFT JOIN customers c ON c.id = e.customer_id WHERE c.id IS NULL
		UNION ALL SELECT 'enrolment of a purchase that is missing', count(*) FROM enrolments e
			WHERE e.purchase_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM purchases p WHERE p.id = e.purchase_id)
		UNION ALL SELECT 'message pointing at a missing row', count(*) FROM messages m
			WHERE (m.enrolment_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM enrolments e WHERE e.id = m.enrolment_id))
			   OR NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = m.customer_id)
		UNION ALL SELECT 'coupon pointing at a missing row', count(*) FROM coupons k
			WHERE (k.enrolment_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM enrolments e WHERE e.id = k.enrolment_id))
			   OR (k.program_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM programs p WHERE p.id = k.program_id))
			   OR NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = k.customer_id)
		UNION ALL SELECT 'call task pointing at a missing row', count(*) FROM call_tasks t
			WHERE (t.enrolment_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM enrolments e WHERE e.id = t.enrolment_id))
			   OR NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = t.customer_id)
		UNION ALL SELECT 'customer_stats out of line with purchases', count(*)
			FROM customer_stats s FULL JOIN (SELECT customer_id, count(*) AS n, sum(amount) AS total FROM purchases GROUP BY customer_id) p
			  ON p.customer_id = s.customer_id
			WHERE coalesce(s.purchase_count, 0) <> coalesce(p.n, 0) OR coalesce(s.total_spend, 0) <> coalesce(p.total, 0)
		UNION ALL SELECT 'two live enrolments of a customer in a program', count(*) FROM (
			SELECT 1 FROM enrolments WHERE status <> 'ended' AND NOT per_purchase GROUP BY program_id, customer_id HAVING count(*) > 1) d
		UNION ALL SELECT 'text stored with U+FFFD (invalid UTF-8 replaced)', count(*) FROM (
			SELECT name || coalesce(phone, '') || coalesce(email, '') || locale || time_zone || consent::text AS t FROM customers
			UNION ALL SELECT category || product || store || currency FROM purchases
			UNION ALL SELECT name || params::text FROM programs
			UNION ALL SELECT note FROM call_tasks
			UNION ALL SELECT note FROM customer_voices) x WHERE strpos(t, U&'\FFFD') > 0`)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var what string
		var n int
		if err := rows.Scan(&what, &n); err != nil {
			e.t.Fatal(err)
		}
		if n != 0 {
			e.t.Errorf("integrity: %d × %s", n, what)
		}
	}
	if err := rows.Err(); err != nil {
		e.t.Fatal(err)
	}
	e.t.Run("programs read back", func(t *testing.T) { e.checkProgramsReadBack(t) })
	if _, err := e.st.Settings(ctx); err != nil {
		e.t.Errorf("integrity: settings do not read back: %v", err)
	}
}

// checkProgramsReadBack decodes every program and version: what is stored
// must read back.
func (e *env) checkProgramsReadBack(t *testing.T) {
	ctx := context.Background()
	vs, err := e.db.Query(ctx, `SELECT p.id, v.version, p.kind, v.params FROM programs p JOIN program_versions v ON v.program_id = p.id
		UNION ALL SELECT id, 0, kind, params FROM programs`)
	if err != nil {
		t.Fatal(err)
	}
	defer vs.Close()
	for vs.Next() {
		var id int64
		var version int
		var kind string
		var params json.RawMessage
		if err := vs.Scan(&id, &version, &kind, &params); err != nil {
			t.Fatal(err)
		}
		if _, err := programs.Decode(kind, params); err != nil {
			what := fmt.Sprintf("version %d", version)
			if version == 0 {
				what = "current params"
			}
			t.Errorf("integrity: program %d, %s, does not read back: %v", id, what, err)
		}
	}
	if err := vs.Err(); err != nil {
		t.Fatal(err)
	}
}

// terminateEnrolments ends the workflows the test's purchases started (no
// worker runs them).
func (e *env) terminateEnrolments() {
	rows, err := e.db.Query(context.Background(), `SELECT DISTINCT workflow_id FROM enrolments`)
	if err != nil {
		return
	}
	var ids []string
	for rows.Next() {
		var id string
		if rows.Scan(&id) == nil {
			ids = append(ids, id)
		}
	}
	rows.Close()
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for _, id := range ids {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			_ = e.tc.TerminateWorkflow(context.Background(), id, "", "api test over")
		})
	}
	wg.Wait()
}
