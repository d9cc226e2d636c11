package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/internal/testenv"
	"github.com/dangol/dangol/twiliostandin"
)

// proc is one real `dangol serve` process.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// buildDangol compiles the dangol binary under test once per test.
func buildDangol(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "dangol")
	build := exec.Command("go", "build", "-o", bin, "./cmd/dangol")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/dangol: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startProc runs `dangol serve --role role` with env; the test's cleanup
// stops it (SIGTERM, then SIGKILL) and, when the test failed, shows the
// end of its log.
func startProc(t *testing.T, bin, name, role string, env []string) *proc {
	t.Helper()
	p := &proc{name: name, log: filepath.Join(t.TempDir(), name+".log"), done: make(chan struct{})}
	logf, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(bin, "serve", "--role", role)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); logf.Close(); close(p.done) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			b, _ := os.ReadFile(p.log)
			if len(b) > 4000 {
				b = b[len(b)-4000:]
			}
			t.Logf("--- %s log (end) ---\n%s", p.name, b)
		}
	})
	return p
}

// kill9 kills the process as a crash would: no shutdown, no goodbye to
// the Temporal server.
func (p *proc) kill9(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
}

// apiClient calls one API process.
type apiClient struct {
	t    *testing.T
	base string
	key  string
}

func (a apiClient) do(method, path string, body any) (int, []byte) {
	a.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			a.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.base+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+a.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

func (a apiClient) must(want int, method, path string, body, out any) {
	a.t.Helper()
	got, raw := a.do(method, path, body)
	if got != want {
		a.t.Fatalf("%s %s%s: status %d, want %d: %s", method, a.base, path, got, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			a.t.Fatal(err)
		}
	}
}

// TestTwoAPIsTwoWorkers runs dangol as a cluster would: two API processes
// and two worker processes (the real binary, --role api|worker) on one
// Temporal server and one PostgreSQL. A wake-up program's sweep and a
// stream of purchases (each one posted to both APIs at once) run across
// them, and one worker is killed with SIGKILL mid-run. Counted at the
// Twilio stand-in: every planned SMS arrives exactly once; in PostgreSQL:
// one enrolment per customer and program, every one ended.
func TestTwoAPIsTwoWorkers(t *testing.T) {
	const nDormant, nBuyers = 40, 40
	ctx := context.Background()
	bin := buildDangol(t)
	st, dsn := testenv.Store(t)
	testenv.PutSettings(t, st, testenv.AnyHourSettings())
	temporalAddr := testenv.Temporal(t)
	key, err := st.CreateAPIKey(ctx, "multiproc")
	if err != nil {
		t.Fatal(err)
	}

	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	standin := twiliostandin.New(twiliostandin.Options{AuthToken: authToken, CallbackDelay: 100 * time.Millisecond, Logger: quiet})
	standinHTTP := httptest.NewServer(standin)
	t.Cleanup(func() { standinHTTP.Close(); standin.Close() })

	apiAddrs := []string{freeAddr(t), freeAddr(t)}
	queue := fmt.Sprintf("multiproc-%d", rand.IntN(1e9))
	env := []string{
		"DATABASE_URL=" + dsn,
		"DATABASE_MAX_CONNS=8",
		"DATABASE_STATEMENT_TIMEOUT=1m",
		"TEMPORAL_ADDRESS=" + temporalAddr,
		"TEMPORAL_TASK_QUEUE=" + queue,
		"PUBLIC_BASE_URL=http://" + apiAddrs[0],
		"TWILIO_ACCOUNT_SID=" + accountSID,
		"TWILIO_AUTH_TOKEN=" + authToken,
		"TWILIO_FROM=" + fromNumber,
		"TWILIO_API_BASE=" + standinHTTP.URL,
		"SMTP_HOST=127.0.0.1", "SMTP_PORT=1",
		"DANGOL_LINK_SECRET=" + linkSecret,
		// Both workers cap SMS together at 20 a second, so the run lasts
		// long enough for the kill to land mid-run.
		"WORKER_SMS_PER_SECOND=20",
		"LOG_LEVEL=warn",
	}
	var apis []apiClient
	for i, addr := range apiAddrs {
		startProc(t, bin, fmt.Sprintf("api%d", i+1), "api", append(env, "HTTP_ADDR="+addr))
		apis = append(apis, apiClient{t: t, base: "http://" + addr, key: key})
	}
	metricsAddrs := []string{freeAddr(t), freeAddr(t)}
	workers := []*proc{
		startProc(t, bin, "worker1", "worker", append(env, "HTTP_ADDR="+freeAddr(t), "METRICS_ADDR="+metricsAddrs[0])),
		startProc(t, bin, "worker2", "worker", append(env, "HTTP_ADDR="+freeAddr(t), "METRICS_ADDR="+metricsAddrs[1])),
	}
	for _, a := range apis {
		eventually(t, 30*time.Second, a.base+" ready", func() bool {
			code, _ := a.do("GET", "/readyz", nil)
			return code == http.StatusOK
		})
	}

	// The wake-up audience: customers whose last purchase was 200 days ago.
	if _, err := st.Pool().Exec(ctx, `
		WITH c AS (
			INSERT INTO customers (external_id, name, phone, consent)
			SELECT 'dormant-' || g, '고객' || g, '+8210' || lpad(g::text, 8, '0'),
			       '{"sms": {"granted": true, "at": "2026-01-01T00:00:00Z", "source": "seed"}}'
			FROM generate_series(1, $1) g
			RETURNING id)
		INSERT INTO customer_stats (customer_id, purchase_count, total_spend, first_purchase_at, last_purchase_at)
		SELECT id, 1, 50000, now() - interval '200 days', now() - interval '200 days' FROM c`, nDormant); err != nil {
		t.Fatal(err)
	}
	// The buyers: new customers, created through both APIs.
	for i := range nBuyers {
		phone := fmt.Sprintf("+8211%08d", i)
		apis[i%2].must(http.StatusCreated, "PUT", fmt.Sprintf("/v1/customers/buyer-%d", i), map[string]any{
			"name": fmt.Sprintf("구매자%d", i), "phone": phone, "time_zone": "Asia/Seoul",
			"consent": map[string]any{"sms": map[string]any{"granted": true, "source": "pos"}},
		}, nil)
	}

	var wake, happy programOut
	apis[0].must(http.StatusCreated, "POST", "/v1/programs", map[string]any{"name": "wake-up", "kind": "dormant_wakeup", "params": map[string]any{
		"holdout_percent": 0,
		"steps":           []map[string]any{{"key": "d1", "offset": "2s", "channel": "sms", "message": map[string]any{"text": "오랜만이에요 {{.Name}}님"}}},
	}}, &wake)
	apis[1].must(http.StatusCreated, "POST", "/v1/programs", map[string]any{"name": "thanks", "kind": "happy_call", "params": map[string]any{
		"categories": []string{"가전"},
		"touches":    []map[string]any{{"key": "3d", "offset": "2s", "sms": "{{.Name}}님, {{.Product}} 구매 감사합니다."}},
	}}, &happy)

	// The sweep through one API, the purchases through both: each
	// purchase is posted to the two APIs at once, as a retrying client
	// behind a load balancer would.
	began := time.Now()
	apis[1].must(http.StatusAccepted, "POST", fmt.Sprintf("/v1/programs/%d/sweep", wake.ID), nil, nil)
	purchase := func(i int) {
		body := map[string]any{
			"external_id": fmt.Sprintf("order-%d", i), "customer_id": fmt.Sprintf("buyer-%d", i), "amount": "1290000", "currency": "KRW",
			"category": "가전", "product": "냉장고", "store": "강남점", "purchased_at": time.Now().Format(time.RFC3339Nano),
		}
		var wg sync.WaitGroup
		codes := make([]int, 2)
		bodies := make([][]byte, 2)
		for j, a := range apis {
			wg.Go(func() { codes[j], bodies[j] = a.do("POST", "/v1/purchases", body) })
		}
		wg.Wait()
		// One of the two creates it (201), the other finds it (200).
		if !(codes[0] == 201 && codes[1] == 200 || codes[0] == 200 && codes[1] == 201) {
			t.Errorf("purchase %d posted to both APIs: %d %s / %d %s; want one 201 and one 200", i, codes[0], bodies[0], codes[1], bodies[1])
		}
	}
	for i := range nBuyers / 2 {
		purchase(i)
	}

	// Mid-run, once each worker has sent some (the work is split), and
	// most SMS are still to go: kill one worker.
	total := nDormant + nBuyers
	// programSent counts the programs' SMS at the stand-in, not the
	// consent notices (see below).
	programSent := func() int {
		n := 0
		for _, m := range standin.Messages() {
			if !strings.Contains(m.Body, "수신동의 처리 결과 안내") {
				n++
			}
		}
		return n
	}
	eventually(t, 60*time.Second, "both workers to send", func() bool {
		return programSent() >= total/5 && sentBy(metricsAddrs[0]) > 0 && sentBy(metricsAddrs[1]) > 0
	})
	sentAtKill := programSent()
	workers[0].kill9(t)
	t.Logf("killed worker1 (SIGKILL) %s after the sweep began, with %d of %d SMS sent", time.Since(began).Round(time.Millisecond), sentAtKill, total)
	for i := nBuyers / 2; i < nBuyers; i++ {
		purchase(i)
	}

	// Everything planned arrives, through the surviving worker.
	eventually(t, 90*time.Second, fmt.Sprintf("all %d SMS", total), func() bool { return programSent() >= total })
	eventually(t, 60*time.Second, "every enrolment to end", func() bool {
		var open int
		_ = st.Pool().QueryRow(ctx, `SELECT count(*) FROM enrolments WHERE program_id IN ($1, $2) AND status <> 'ended'`, wake.ID, happy.ID).Scan(&open)
		return open == 0
	})
	t.Logf("all %d SMS sent and every enrolment ended %s after the sweep began", total, time.Since(began).Round(time.Millisecond))
	// A late duplicate would show up by now (retries are seconds apart).
	time.Sleep(3 * time.Second)

	// The consent-notices schedule may confirm to a customer, once, the
	// consent the test's API key recorded (issue 7), whenever its
	// five-minute tick falls in the run: counted apart.
	byPhone, notices, programSMS := map[string][]string{}, map[string]int{}, 0
	for _, m := range standin.Messages() {
		if strings.Contains(m.Body, "수신동의 처리 결과 안내") {
			notices[m.To]++
			continue
		}
		byPhone[m.To] = append(byPhone[m.To], m.Body)
		programSMS++
	}
	for phone, n := range notices {
		if n > 1 {
			t.Errorf("%s got %d consent notices, want at most one", phone, n)
		}
	}
	for i := 1; i <= nDormant; i++ {
		phone := fmt.Sprintf("+8210%08d", i)
		if got := byPhone[phone]; len(got) != 1 || !strings.Contains(got[0], "오랜만이에요") {
			t.Errorf("dormant customer %d (%s) got %q, want one wake-up SMS", i, phone, got)
		}
	}
	for i := range nBuyers {
		phone := fmt.Sprintf("+8211%08d", i)
		if got := byPhone[phone]; len(got) != 1 || !strings.Contains(got[0], "구매 감사합니다") {
			t.Errorf("buyer %d (%s) got %q, want one thank-you SMS", i, phone, got)
		}
	}
	if programSMS != total {
		t.Errorf("the stand-in received %d program SMS, want %d", programSMS, total)
	}

	type count struct{ rows, customers, workflows int }
	for _, p := range []struct {
		id   int64
		want int
	}{{wake.ID, nDormant}, {happy.ID, nBuyers}} {
		var c count
		if err := st.Pool().QueryRow(ctx, `SELECT count(*), count(DISTINCT customer_id), count(DISTINCT workflow_id) FROM enrolments WHERE program_id = $1`, p.id).
			Scan(&c.rows, &c.customers, &c.workflows); err != nil {
			t.Fatal(err)
		}
		if c != (count{p.want, p.want, p.want}) {
			t.Errorf("program %d: %d enrolments of %d customers under %d workflow ids, want %d each", p.id, c.rows, c.customers, c.workflows, p.want)
		}
	}
	var msgs, sent int
	if err := st.Pool().QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE status IN ('sent', 'delivered', 'accepted', 'queued')) FROM messages WHERE channel = $1 AND enrolment_id IS NOT NULL`, domain.ChannelSMS).
		Scan(&msgs, &sent); err != nil {
		t.Fatal(err)
	}
	if msgs != total || sent != total {
		t.Errorf("messages table: %d SMS rows, %d of them sent, want %d", msgs, sent, total)
	}
}

// sentBy is how many SMS a worker process has handed the provider, from
// its /metrics (dangol_messages_total by result).
func sentBy(metricsAddr string) float64 {
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var n float64
	for line := range strings.Lines(string(b)) {
		if strings.HasPrefix(line, "dangol_messages_total{") && strings.Contains(line, `channel="sms"`) &&
			(strings.Contains(line, `result="queued"`) || strings.Contains(line, `result="accepted"`) || strings.Contains(line, `result="sent"`)) {
			var v float64
			if _, err := fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v); err == nil {
				n += v
			}
		}
	}
	return n
}
