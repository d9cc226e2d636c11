package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	tlog "go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/dangol/dangol/activities"
	"github.com/dangol/dangol/channels/mail"
	"github.com/dangol/dangol/channels/sms"
	"github.com/dangol/dangol/store"
	"github.com/dangol/dangol/worker"
)

// The worker runs in a process of its own, so that its memory is what
// /proc/<pid>/status says and nothing of the load generator's. It is this
// binary started again with WorkerEnv set to its configuration.

// WorkerEnv is the environment variable that makes a bench binary a worker.
const WorkerEnv = "DANGOL_BENCH_WORKER"

// Worker process modes.
const (
	// WorkerDangol is dangol's worker as `dangol serve --role worker`
	// builds it (worker.New with the activities), on Env.TaskQueue.
	WorkerDangol = "dangol"
	// WorkerBare runs only the baselines' workflows (BareSleep,
	// BareTouches) and activity, with the same pollers as dangol's.
	WorkerBare = "bare"
)

// BareSleepWorkflow is the baseline workflow's registered name.
const BareSleepWorkflow = "BenchBareSleep"

// BareSleep is the baseline workflow: it goes to sleep at once, as an
// enrolment does until its first message is due.
func BareSleep(ctx workflow.Context) error {
	return workflow.Sleep(ctx, 90*24*time.Hour)
}

// BareTouchesWorkflow and BareTouchActivity are the history cost
// baseline's registered names.
const (
	BareTouchesWorkflow = "BenchBareTouches"
	BareTouchActivity   = "BenchBareTouch"
)

// BareTouches is the history cost baseline: touches times a timer and an
// activity: what the least a program's touch can be (wait until it is
// due, then do it) costs in history.
func BareTouches(ctx workflow.Context, touches int, gap time.Duration) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	for range touches {
		if err := workflow.Sleep(ctx, gap); err != nil {
			return err
		}
		if err := workflow.ExecuteActivity(ctx, BareTouchActivity).Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

// BareTouch is the baseline's activity: it does nothing, so the figure is
// the history alone.
func BareTouch(context.Context) error { return nil }

type workerConfig struct {
	Mode, DSN, HostPort, TaskQueue, StandinURL, APIURL string
	MailPort                                           int
}

// RunWorkerIfChild runs the worker and exits when this process was started
// as one (WorkerEnv set); otherwise it returns at once. Call it first thing
// in main (and TestMain) of a program that runs sections.
func RunWorkerIfChild() {
	raw := os.Getenv(WorkerEnv)
	if raw == "" {
		return
	}
	var cfg workerConfig
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench worker:", err)
		os.Exit(2)
	}
	if err := runWorker(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench worker:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// runWorker starts the worker, tells the parent where its control server
// listens (first line of stdout), and runs until its stdin closes: the
// parent closing it, or dying.
func runWorker(cfg workerConfig) error {
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	slog.SetDefault(logger)
	sleeps := &sleepCounter{byType: map[string]*sleepCount{}}
	tc, err := client.DialContext(ctx, client.Options{
		HostPort: cfg.HostPort, Logger: tlog.NewStructuredLogger(logger),
		// A client interceptor that is also a worker interceptor is used
		// by every worker made from the client: worker.New stays as is.
		Interceptors: []interceptor.ClientInterceptor{sleeps},
	})
	if err != nil {
		return err
	}
	defer tc.Close()

	var start func() error
	var stop func()
	switch cfg.Mode {
	case WorkerDangol:
		st, err := store.Open(ctx, cfg.DSN)
		if err != nil {
			return err
		}
		defer st.Close()
		smsSender, err := sms.NewTwilio(sms.TwilioConfig{AccountSID: accountSID, AuthToken: authToken, From: fromNumber, APIBase: cfg.StandinURL})
		if err != nil {
			return err
		}
		mailer, err := mail.NewSMTP(mail.SMTPConfig{Host: "127.0.0.1", Port: cfg.MailPort, From: "bench@dangol.localhost", TLS: "none", HeloName: "dangol.localhost"})
		if err != nil {
			return err
		}
		acts := &activities.Activities{Store: st, SMS: smsSender, Mail: mailer,
			StatusCallbackURL: cfg.APIURL + "/webhooks/twilio/status", PublicBaseURL: cfg.APIURL, LinkSecret: []byte(linkSecret),
			Temporal: tc, TaskQueue: cfg.TaskQueue}
		w := worker.New(tc, cfg.TaskQueue, acts)
		start, stop = w.Start, w.Stop
	case WorkerBare:
		w := sdkworker.New(tc, cfg.TaskQueue, sdkworker.Options{
			// As worker.New: the baseline must not lose on pollers.
			MaxConcurrentWorkflowTaskPollers: 8,
			MaxConcurrentActivityTaskPollers: 8,
		})
		w.RegisterWorkflowWithOptions(BareSleep, workflow.RegisterOptions{Name: BareSleepWorkflow})
		w.RegisterWorkflowWithOptions(BareTouches, workflow.RegisterOptions{Name: BareTouchesWorkflow})
		w.RegisterActivityWithOptions(BareTouch, activity.RegisterOptions{Name: BareTouchActivity})
		start, stop = w.Start, w.Stop
	default:
		return fmt.Errorf("unknown mode %q", cfg.Mode)
	}
	if err := start(); err != nil {
		return err
	}
	var stopOnce sync.Once
	stopWorker := func() { stopOnce.Do(stop) }
	defer stopWorker()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /asleep", func(w http.ResponseWriter, r *http.Request) {
		n, last := sleeps.get(r.URL.Query().Get("type"))
		writeJSONTo(w, asleepAnswer{Count: n, LastUnixNano: last})
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		writeJSONTo(w, statsAnswer{Goroutines: runtime.NumGoroutine(), HeapAlloc: ms.HeapAlloc})
	})
	// The SDK's cache may be purged only with every worker stopped; the
	// worker then gives back what the OS can take.
	mux.HandleFunc("POST /purge", func(w http.ResponseWriter, r *http.Request) {
		stopWorker()
		sdkworker.PurgeStickyWorkflowCache()
		runtime.GC()
		debug.FreeOSMemory()
		writeJSONTo(w, struct{}{})
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	fmt.Printf("listening %s\n", ln.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin)
	return nil
}

type asleepAnswer struct {
	Count        int64
	LastUnixNano int64
}

type statsAnswer struct {
	Goroutines int
	HeapAlloc  uint64
}

func writeJSONTo(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// sleepCounter counts, per workflow type, the workflows that have reached
// their first timer, and when the last one did: the moment a workflow
// asks for its first timer is the moment it goes to sleep (its workflow
// task completes with the timer command right after). A workflow counts
// once: a replay after its eviction from the cache does not count again.
type sleepCounter struct {
	interceptor.InterceptorBase
	mu     sync.Mutex
	byType map[string]*sleepCount
}

type sleepCount struct {
	n, last atomic.Int64
}

func (c *sleepCounter) count(workflowType string) {
	c.mu.Lock()
	sc := c.byType[workflowType]
	if sc == nil {
		sc = &sleepCount{}
		c.byType[workflowType] = sc
	}
	c.mu.Unlock()
	sc.n.Add(1)
	sc.last.Store(time.Now().UnixNano())
}

func (c *sleepCounter) get(workflowType string) (n, last int64) {
	c.mu.Lock()
	sc := c.byType[workflowType]
	c.mu.Unlock()
	if sc == nil {
		return 0, 0
	}
	return sc.n.Load(), sc.last.Load()
}

func (c *sleepCounter) InterceptWorkflow(ctx workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &sleepInbound{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}, c: c}
}

type sleepInbound struct {
	interceptor.WorkflowInboundInterceptorBase
	c *sleepCounter
}

func (i *sleepInbound) Init(outbound interceptor.WorkflowOutboundInterceptor) error {
	return i.Next.Init(&sleepOutbound{WorkflowOutboundInterceptorBase: interceptor.WorkflowOutboundInterceptorBase{Next: outbound}, c: i.c})
}

// sleepOutbound lives as long as its workflow's run is cached; seen is the
// one field it adds per workflow, for the baseline and dangol alike.
type sleepOutbound struct {
	interceptor.WorkflowOutboundInterceptorBase
	c    *sleepCounter
	seen bool
}

func (o *sleepOutbound) first(ctx workflow.Context) {
	if o.seen {
		return
	}
	o.seen = true
	if !workflow.IsReplaying(ctx) {
		o.c.count(workflow.GetInfo(ctx).WorkflowType.Name)
	}
}

func (o *sleepOutbound) NewTimer(ctx workflow.Context, d time.Duration) workflow.Future {
	o.first(ctx)
	return o.Next.NewTimer(ctx, d)
}

func (o *sleepOutbound) NewTimerWithOptions(ctx workflow.Context, d time.Duration, opts workflow.TimerOptions) workflow.Future {
	o.first(ctx)
	return o.Next.NewTimerWithOptions(ctx, d, opts)
}

func (o *sleepOutbound) Sleep(ctx workflow.Context, d time.Duration) error {
	o.first(ctx)
	return o.Next.Sleep(ctx, d)
}

// WorkerProc is a worker process the bench started.
type WorkerProc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	addr   string
	log    string
	exited chan struct{}
	http   *http.Client
}

// StartWorker starts a worker process in mode (WorkerDangol or WorkerBare)
// polling taskQueue, and waits until it is polling. Stop it with Stop.
func (e *Env) StartWorker(ctx context.Context, mode, taskQueue string) (*WorkerProc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cfg, err := json.Marshal(workerConfig{Mode: mode, DSN: e.DSN, HostPort: e.TemporalHostPort, TaskQueue: taskQueue, StandinURL: e.StandinURL, APIURL: e.APIURL, MailPort: e.MailPort})
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(e.dir, fmt.Sprintf("worker-%d-%s.log", e.next(), mode))
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the child has its own copy
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), WorkerEnv+"="+string(cfg))
	cmd.Stderr = logf
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	w := &WorkerProc{cmd: cmd, stdin: stdin, log: logPath, exited: make(chan struct{}), http: &http.Client{Timeout: 2 * time.Minute}}
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			line <- sc.Text()
		}
		close(line)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() {
		_ = cmd.Wait()
		close(w.exited)
	}()
	select {
	case l, ok := <-line:
		addr, found := strings.CutPrefix(l, "listening ")
		if !ok || !found {
			w.kill()
			return nil, fmt.Errorf("worker process did not start: %q%s", l, tail(logPath))
		}
		w.addr = addr
	case <-time.After(time.Minute):
		w.kill()
		return nil, fmt.Errorf("worker process not ready after a minute%s", tail(logPath))
	case <-ctx.Done():
		w.kill()
		return nil, ctx.Err()
	}
	return w, nil
}

// Pid is the worker process's id.
func (w *WorkerProc) Pid() int { return w.cmd.Process.Pid }

// RSS is the worker's resident set size in bytes, from /proc/<pid>/status.
func (w *WorkerProc) RSS() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", w.Pid()))
	if err != nil {
		return 0, fmt.Errorf("worker RSS (Linux only): %w", err)
	}
	for l := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) == 2 && f[1] == "kB" {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				return kb * 1024, err
			}
		}
	}
	return 0, errors.New("no VmRSS in /proc/<pid>/status")
}

// Asleep is how many workflows of a type reached their first timer in this
// worker, and when the last one did.
func (w *WorkerProc) Asleep(ctx context.Context, workflowType string) (int, time.Time, error) {
	var a asleepAnswer
	if err := w.call(ctx, "GET", "/asleep?type="+workflowType, &a); err != nil {
		return 0, time.Time{}, err
	}
	return int(a.Count), time.Unix(0, a.LastUnixNano), nil
}

// Stats runs a garbage collection in the worker and returns its goroutines
// and live heap.
func (w *WorkerProc) Stats(ctx context.Context) (goroutines int, heap int64, err error) {
	var s statsAnswer
	err = w.call(ctx, "GET", "/stats", &s)
	return s.Goroutines, int64(s.HeapAlloc), err
}

// Purge stops the worker's polling, purges the SDK's sticky cache and
// returns freed memory to the OS.
func (w *WorkerProc) Purge(ctx context.Context) error {
	return w.call(ctx, "POST", "/purge", nil)
}

func (w *WorkerProc) call(ctx context.Context, method, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, "http://"+w.addr+path, nil)
	if err != nil {
		return err
	}
	resp, err := w.http.Do(req)
	if err != nil {
		select {
		case <-w.exited:
			return fmt.Errorf("worker process exited: %v%s", w.cmd.ProcessState, tail(w.log))
		default:
		}
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("worker %s %s: %s", method, path, resp.Status)
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// Stop ends the worker process: its stdin closes, it stops polling and
// exits; after 30 s it is killed.
func (w *WorkerProc) Stop() {
	_ = w.stdin.Close()
	select {
	case <-w.exited:
	case <-time.After(30 * time.Second):
		w.kill()
	}
}

func (w *WorkerProc) kill() {
	_ = w.cmd.Process.Kill()
	<-w.exited
}

// tail is the end of a log file, for an error message.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return "\n--- " + path + " ---\n" + strings.Join(lines, "\n")
}
