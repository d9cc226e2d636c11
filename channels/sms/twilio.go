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
	// pages). Default 10s, twilio-go's own default.
	HTTPTimeout time.Duration
}

// Twilio sends SMS with the official twilio-go client.
type Twilio struct {
	sid, token, from string
	base             *url.URL // nil: talk to Twilio itself
	timeout          time.Duration
	transport        http.RoundTripper
}

var _ Sender = (*Twilio)(nil)

// twilio-go refuses, on every call and without a network round trip,
// credentials that are not alphanumeric (error 21222/21224); checking here
// turns a misconfiguration into a startup error instead of a stream of
// "permanent" send failures.
var alphanumeric = regexp.MustCompile(`^[a-zA-Z0-9]+$`)

// NewTwilio validates cfg and returns a sender.
func NewTwilio(cfg TwilioConfig) (*Twilio, error) {
	switch {
	case cfg.AccountSID == "" || cfg.AuthToken == "" || cfg.From == "":
		return nil, errors.New("sms: Twilio account SID, auth token and From are required")
	case !alphanumeric.MatchString(cfg.AccountSID):
		return nil, errors.New("sms: Twilio account SID must be alphanumeric")
	case !alphanumeric.MatchString(cfg.AuthToken):
		return nil, errors.New("sms: Twilio auth token must be alphanumeric")
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
	// errStatus is the HTTP status of the last error response. twilio-go
	// only reports the status found in Twilio's JSON error body, so without
	// this a proxy's HTML 502 would lose its status entirely.
	errStatus int
}

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
		// twilio-go never closes an error response's body, which would keep
		// its connection out of the pool; hand it a copy instead.
		b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
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
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	api, tr := t.api(ctx)
	params := &openapi.CreateMessageParams{}
	params.SetTo(m.To).SetFrom(t.from).SetBody(m.Body)
	if m.StatusCallback != "" {
		params.SetStatusCallback(m.StatusCallback)
	}
	res, err := api.CreateMessage(params)
	if err != nil {
		return Receipt{}, mapError("send", err, tr)
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
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	api, tr := t.api(ctx)
	params := &openapi.ListMessageParams{}
	params.SetTo(to).SetFrom(t.from).SetPageSize(100).SetLimit(findWindow)
	msgs, err := api.ListMessage(params)
	if err != nil {
		return Receipt{}, false, mapError("find", err, tr)
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

func mapError(op string, err error, tr *callTransport) error {
	var te *client.TwilioRestError
	if errors.As(err, &te) {
		status := te.Status
		if tr.errStatus != 0 {
			status = tr.errStatus
		}
		return &ProviderError{HTTPStatus: status, Code: te.Code, Message: te.Message, Permanent: permanent(status, te.Code)}
	}
	if tr.errStatus != 0 {
		// An error reply that is not Twilio's JSON comes from something in
		// between (proxy, load balancer), so it says nothing about the
		// message itself: worth retrying whatever its status.
		return &ProviderError{
			HTTPStatus: tr.errStatus,
			Message:    "reply without a Twilio error body: " + err.Error(),
		}
	}
	return fmt.Errorf("twilio %s: %w", op, err)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
