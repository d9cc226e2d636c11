package sms

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twilio/twilio-go"
	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"
)

// TwilioConfig configures the Twilio sender.
type TwilioConfig struct {
	AccountSID string
	AuthToken  string
	From       string // sender number (E.164) or alphanumeric sender ID
	// APIBase, e.g. "http://127.0.0.1:8089", sends every API call there
	// instead of api.twilio.com (the local stand-in). Empty in production.
	APIBase string
	// HTTPTimeout bounds each Send or Find as a whole (Find may read several
	// pages). Default 10s, twilio-go's own default. A caller's deadline
	// shortens it (see budget).
	HTTPTimeout time.Duration
}

// Twilio sends SMS with the official twilio-go client.
type Twilio struct {
	sid, token, from string
	base             *url.URL // nil: talk to Twilio itself
	timeout          time.Duration
	transport        http.RoundTripper

	// pausedUntil is when the provider's last Retry-After runs out: until
	// then no call leaves this process (see pause), so the retries of every
	// message, not just the one that got the 429, honour it.
	mu          sync.Mutex
	pausedUntil time.Time
}

var _ Sender = (*Twilio)(nil)

// An Account SID is "AC" and 32 hex digits, an auth token 32 hex digits.
// Twilio answers anything else with an error on every call (and twilio-go
// refuses non-alphanumeric ones without a round trip); checking the shape
// here turns a misconfiguration into a start-up error instead of a stream
// of failed messages.
var (
	accountSIDShape = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
	authTokenShape  = regexp.MustCompile(`^[0-9a-fA-F]{32}$`)
)

// NewTwilio validates cfg and returns a sender.
func NewTwilio(cfg TwilioConfig) (*Twilio, error) {
	switch {
	case cfg.AccountSID == "" || cfg.AuthToken == "" || cfg.From == "":
		return nil, errors.New("sms: Twilio account SID, auth token and From are required")
	case !accountSIDShape.MatchString(cfg.AccountSID):
		// Only the start is shown: a secret pasted into the wrong variable
		// must not end up in a log.
		return nil, fmt.Errorf("sms: Twilio account SID (%d characters, starting %q) is not AC followed by 32 hexadecimal digits (see the Twilio console)",
			len(cfg.AccountSID), cfg.AccountSID[:min(2, len(cfg.AccountSID))])
	case !authTokenShape.MatchString(cfg.AuthToken):
		return nil, fmt.Errorf("sms: Twilio auth token (%d characters) is not 32 hexadecimal digits (see the Twilio console)", len(cfg.AuthToken))
	}
	t := &Twilio{
		sid:       cfg.AccountSID,
		token:     cfg.AuthToken,
		from:      cfg.From,
		timeout:   cfg.HTTPTimeout,
		transport: http.DefaultTransport.(*http.Transport).Clone(),
	}
	if t.timeout <= 0 {
		t.timeout = 10 * time.Second
	}
	if cfg.APIBase != "" {
		u, err := url.Parse(cfg.APIBase)
		if err != nil {
			return nil, fmt.Errorf("sms: Twilio API base: %w", err)
		}
		// Only scheme and host are swapped, so a path or query would be
		// silently dropped: refuse them rather than surprise.
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return nil, fmt.Errorf("sms: Twilio API base %q must be scheme://host[:port]", cfg.APIBase)
		}
		t.base = u
	}
	return t, nil
}

// callTransport adapts one Send or Find to what twilio-go lacks. twilio-go
// builds every request with context.Background() and has no base-URL
// option, so this transport substitutes the caller's context (making
// cancellation and the timeout work) and, for the stand-in, the host.
type callTransport struct {
	ctx  context.Context
	base *url.URL
	next http.RoundTripper
	// errStatus and errBody are the HTTP status and the start of the body
	// of the last error response. twilio-go only reports what it finds in
	// Twilio's JSON error body, so without these a proxy's HTML 502, or a
	// 4xx whose JSON has another shape, would lose its status and reason.
	errStatus int
	errBody   []byte
	// retryAfter is the last error response's Retry-After, 0 if none.
	retryAfter time.Duration
}

// maxErrBody bounds the part of an error body that is kept and recorded.
const maxErrBody = 2 << 10

func (t *callTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(t.ctx)
	if t.base != nil {
		r.URL.Scheme = t.base.Scheme
		r.URL.Host = t.base.Host
		r.Host = ""
	}
	resp, err := t.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 400 {
		t.errStatus = resp.StatusCode
		t.retryAfter = retryAfter(resp.Header.Get("Retry-After"), time.Now())
		// twilio-go never closes an error response's body, which would keep
		// its connection out of the pool; hand it a copy instead.
		b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		t.errBody = b[:min(len(b), maxErrBody)]
		resp.Body = io.NopCloser(bytes.NewReader(b))
	}
	return resp, nil
}

// api returns a client bound to ctx. Building it per call is what lets ctx
// reach the requests (see callTransport); it costs a few small allocations
// while the connection pool in t.transport is shared.
func (t *Twilio) api(ctx context.Context) (*openapi.ApiService, *callTransport) {
	tr := &callTransport{ctx: ctx, base: t.base, next: t.transport}
	c := &client.Client{
		Credentials: client.NewCredentials(t.sid, t.token),
		HTTPClient: &http.Client{
			Transport: tr,
			// As twilio-go's default client: a redirect is answered, not
			// followed, so credentials never go to another host.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	c.SetAccountSid(t.sid)
	return twilio.NewRestClientWithParams(twilio.ClientParams{Client: c}).Api, tr
}

// Send sends m. Errors answered by Twilio are *ProviderError.
func (t *Twilio) Send(ctx context.Context, m Message) (Receipt, error) {
	if err := t.paused(); err != nil {
		return Receipt{}, err
	}
	ctx, cancel, err := t.budget(ctx, "send", 1)
	if err != nil {
		return Receipt{}, err
	}
	defer cancel()
	api, tr := t.api(ctx)
	params := &openapi.CreateMessageParams{}
	params.SetTo(m.To).SetFrom(t.from).SetBody(m.Body)
	if m.StatusCallback != "" {
		params.SetStatusCallback(m.StatusCallback)
	}
	res, err := api.CreateMessage(params)
	if err != nil {
		return Receipt{}, t.pause(mapError("send", err, tr, m.To))
	}
	if res.Sid == nil {
		return Receipt{}, errors.New("twilio send: response has no message sid")
	}
	return Receipt{ProviderID: *res.Sid, Status: deref(res.Status)}, nil
}

// Find implements Sender.Find. It does not filter by date: Twilio filters
// on date_sent, which stays empty while a message is queued, and a queued
// message is exactly what a crashed attempt leaves behind. Twilio lists
// newest first, so the recipient's latest messages from our number are
// enough: an attempt older than findWindow was not retried that late.
func (t *Twilio) Find(ctx context.Context, to, body string, since time.Time) (Receipt, bool, error) {
	if err := t.paused(); err != nil {
		return Receipt{}, false, err
	}
	// A Send follows a Find that finds nothing: half the time is its.
	ctx, cancel, err := t.budget(ctx, "find", 2)
	if err != nil {
		return Receipt{}, false, err
	}
	defer cancel()
	api, tr := t.api(ctx)
	params := &openapi.ListMessageParams{}
	params.SetTo(to).SetFrom(t.from).SetPageSize(100).SetLimit(findWindow)
	msgs, err := api.ListMessage(params)
	if err != nil {
		return Receipt{}, false, t.pause(mapError("find", err, tr, to))
	}
	// date_created has whole seconds and Twilio's clock is not ours.
	earliest := since.Add(-time.Minute)
	var found *openapi.ApiV2010Message
	var foundAt time.Time
	for i := range msgs {
		m := &msgs[i]
		if m.Sid == nil || m.Body == nil || *m.Body != body {
			continue
		}
		created, err := time.Parse(time.RFC1123Z, deref(m.DateCreated))
		if err != nil {
			// Guessing "not found" here would risk a double send.
			return Receipt{}, false, fmt.Errorf("twilio find: message %s: date_created: %w", *m.Sid, err)
		}
		if created.Before(earliest) {
			continue
		}
		// The earliest match is the one closest to the attempt being
		// checked; a later identical body belongs to a later attempt.
		if found == nil || created.Before(foundAt) {
			found, foundAt = m, created
		}
	}
	if found == nil {
		return Receipt{}, false, nil
	}
	return Receipt{ProviderID: *found.Sid, Status: deref(found.Status)}, true, nil
}

// Fetch implements Sender.Fetch.
func (t *Twilio) Fetch(ctx context.Context, providerID string) (Receipt, error) {
	if err := t.paused(); err != nil {
		return Receipt{}, err
	}
	ctx, cancel, err := t.budget(ctx, "fetch", 1)
	if err != nil {
		return Receipt{}, err
	}
	defer cancel()
	api, tr := t.api(ctx)
	m, err := api.FetchMessage(providerID, &openapi.FetchMessageParams{})
	if err != nil {
		return Receipt{}, t.pause(mapError("fetch", err, tr, ""))
	}
	r := Receipt{ProviderID: deref(m.Sid), Status: deref(m.Status), ErrorMessage: deref(m.ErrorMessage)}
	if m.ErrorCode != nil {
		r.ErrorCode = *m.ErrorCode
	}
	if m.To != nil {
		r.ErrorMessage = redact(r.ErrorMessage, *m.To)
	}
	return r, nil
}

// deadlineReserve is the part of a caller's deadline no provider call
// uses: the time to record the provider's answer (a SID in the database)
// after it came. A call cut by the caller's deadline instead would leave a
// message the provider may have accepted without its SID.
const deadlineReserve = 2 * time.Second

// budget bounds one provider call: the configured timeout, shortened to a
// 1/share part of what is left of ctx's deadline after deadlineReserve.
// The SMS activity runs Find and then Send within its start-to-close
// timeout (15 s), which two full 10 s timeouts would overrun, the Send
// being cut in mid-flight; Find takes share 2 to leave Send its part.
// With no time left the call is not made.
func (t *Twilio) budget(ctx context.Context, op string, share int) (context.Context, context.CancelFunc, error) {
	d := t.timeout
	if dl, ok := ctx.Deadline(); ok {
		d = min(d, (time.Until(dl)-deadlineReserve)/time.Duration(share))
	}
	if d <= 0 {
		return nil, nil, fmt.Errorf("twilio %s: not called: less than %s left before the deadline: %w", op, deadlineReserve, context.DeadlineExceeded)
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	return ctx, cancel, nil
}

// findWindow bounds how many of a recipient's latest messages Find reads.
const findWindow = 200

// permanentCodes are Twilio errors retrying cannot fix whatever their HTTP
// status: invalid number, unsubscribed recipient, not a mobile number,
// authentication.
var permanentCodes = map[int]bool{21211: true, 21610: true, 21614: true, 20003: true}

func permanent(httpStatus, code int) bool {
	if permanentCodes[code] {
		return true
	}
	return httpStatus >= 400 && httpStatus < 500 && httpStatus != http.StatusTooManyRequests
}

func mapError(op string, err error, tr *callTransport, to string) error {
	body := redact(strings.ToValidUTF8(string(tr.errBody), "\uFFFD"), to)
	var te *client.TwilioRestError
	if errors.As(err, &te) {
		status := te.Status
		if tr.errStatus != 0 {
			status = tr.errStatus
		}
		return &ProviderError{HTTPStatus: status, Code: te.Code, Message: redact(te.Message, to), Body: body,
			Permanent: permanent(status, te.Code), RetryAfter: tr.retryAfter}
	}
	if tr.errStatus != 0 {
		// An error reply that is not Twilio's JSON comes from something in
		// between (proxy, load balancer), so it says nothing about the
		// message itself: worth retrying whatever its status.
		return &ProviderError{
			HTTPStatus: tr.errStatus,
			Message:    "reply without a Twilio error body: " + redact(err.Error(), to),
			Body:       body,
			RetryAfter: tr.retryAfter,
		}
	}
	return fmt.Errorf("twilio %s: %w", op, err)
}

// maxRetryAfter bounds the pause a Retry-After can impose: a bad header
// ("Retry-After: 999999") must not stop every message for days. Twilio's
// own waits are seconds.
const maxRetryAfter = 5 * time.Minute

// retryAfter reads a Retry-After header, seconds or an HTTP date, bounded
// by maxRetryAfter; 0 when absent, unreadable or already past.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		d = maxRetryAfter
		if secs < int64(maxRetryAfter/time.Second) {
			d = time.Duration(secs) * time.Second
		}
	} else if at, err := http.ParseTime(v); err == nil {
		d = at.Sub(now)
	}
	return max(0, min(d, maxRetryAfter))
}

// pause holds back every call until the Retry-After of err (a 429 or 503
// that carries one) has passed, and returns err.
func (t *Twilio) pause(err error) error {
	var pe *ProviderError
	if !errors.As(err, &pe) || pe.RetryAfter <= 0 ||
		(pe.HTTPStatus != http.StatusTooManyRequests && pe.HTTPStatus != http.StatusServiceUnavailable) {
		return err
	}
	until := time.Now().Add(pe.RetryAfter)
	t.mu.Lock()
	if until.After(t.pausedUntil) {
		t.pausedUntil = until
	}
	t.mu.Unlock()
	return err
}

// paused is the error for a call made before the provider's Retry-After
// has passed; nil when calls may go. Nothing reaches the provider, so it
// is safe to retry whatever the call was.
func (t *Twilio) paused() error {
	t.mu.Lock()
	until := t.pausedUntil
	t.mu.Unlock()
	wait := time.Until(until)
	if wait <= 0 {
		return nil
	}
	return &ProviderError{HTTPStatus: http.StatusTooManyRequests, RetryAfter: wait,
		Message: fmt.Sprintf("not sent to the provider: its Retry-After has %s to run", wait.Round(time.Millisecond))}
}

// e164ish finds phone numbers in international format in provider text.
var e164ish = regexp.MustCompile(`\+[0-9]{6,15}`)

// redact removes the recipient's number (as sent, whatever its format)
// and anything that looks like an international number from provider text.
func redact(s, to string) string {
	if to != "" {
		s = strings.ReplaceAll(s, to, "[number]")
	}
	return e164ish.ReplaceAllString(s, "[number]")
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
