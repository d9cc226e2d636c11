// Package twiliostandin is a local stand-in for the part of Twilio's
// Messages API that dangol uses. Twilio cannot be reached from tests or from
// `make dev` (and real sends cost money and reach real phones), so this
// serves the same wire format the twilio-go client speaks: tests exercise the
// real client, error decoding and status-callback signatures instead of a
// mock that only agrees with our own assumptions.
package twiliostandin

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configures a Server.
type Options struct {
	// AuthToken, when set, is the only basic-auth password accepted and the
	// key status callbacks are signed with. When empty any password is
	// accepted and each message's callbacks are signed with the password it
	// was sent with, which is what Twilio does for a client authenticating
	// with its account SID and auth token.
	AuthToken string
	// CallbackDelay is the wait before each status change (queued -> sent
	// -> delivered). Default 200ms.
	CallbackDelay time.Duration
	// HTTPClient posts status callbacks. Default: a client with a 10s
	// timeout, so a stuck receiver cannot hold Close for long.
	HTTPClient *http.Client
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Message is a message the stand-in accepted.
type Message struct {
	Sid                 string    `json:"sid"`
	AccountSid          string    `json:"account_sid"`
	To                  string    `json:"to"`
	From                string    `json:"from"`
	MessagingServiceSid string    `json:"messaging_service_sid,omitempty"`
	Body                string    `json:"body"`
	StatusCallback      string    `json:"status_callback,omitempty"`
	Status              string    `json:"status"`
	Created             time.Time `json:"created"`
	Updated             time.Time `json:"updated"`
	// Sent is zero until the message reaches "sent", as Twilio's date_sent
	// is null until then.
	Sent time.Time `json:"sent,omitzero"`
}

// record is a Message plus what the stand-in keeps private.
type record struct {
	Message
	// signingKey signs this message's callbacks (see Options.AuthToken).
	signingKey string
	// seq orders messages created within the same clock tick.
	seq int
}

// fault is one scripted answer to a message creation: an error (status,
// code, message; or a raw body of another shape), or a repeat of the last
// accepted message's SID.
type fault struct {
	status      int
	code        int
	message     string
	contentType string
	body        string
	repeatSid   bool
}

// generation groups the callback goroutines started between two Resets, so
// Reset can stop and wait for exactly the ones whose messages it dropped.
type generation struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Server is the stand-in. It is an http.Handler; use it with httptest or an
// http.Server. Call Close when done so no callback outlives it.
type Server struct {
	opts   Options
	log    *slog.Logger
	client *http.Client
	mux    *http.ServeMux

	mu       sync.Mutex
	messages []*record
	bySid    map[string]*record
	faults   []fault
	seq      int
	closed   bool
	// unsubscribed are the numbers that replied STOP to Twilio itself,
	// with how many messages to each were refused since.
	unsubscribed map[string]int
	// noCallbacks drops status callbacks (statuses still advance), as when
	// they reach a receiver that is down.
	noCallbacks bool
	gen         *generation
	// all counts every callback goroutine, whatever its generation, so Close
	// also waits for those a concurrent Reset is still stopping.
	all sync.WaitGroup
	// outage is the fault mode under way (SetOutage) and its counts.
	outage outageState
	// done is closed by Close: calls hung by an outage return at once.
	done      chan struct{}
	closeOnce sync.Once
}

const apiVersion = "2010-04-01"

// e164 is the check the brief for dangol asks for; Twilio itself is more
// lenient (it normalises some national formats) but dangol always sends E.164.
var e164 = regexp.MustCompile(`^\+[1-9]\d{6,14}$`)

// New returns a ready stand-in.
func New(opts Options) *Server {
	if opts.CallbackDelay <= 0 {
		opts.CallbackDelay = 200 * time.Millisecond
	}
	s := &Server{
		opts:   opts,
		log:    opts.Logger,
		client: opts.HTTPClient,
		bySid:  map[string]*record{},
		gen:    newGeneration(),
		done:   make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.client == nil {
		s.client = &http.Client{Timeout: 10 * time.Second}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2010-04-01/Accounts/{AccountSid}/Messages.json", s.createMessage)
	mux.HandleFunc("GET /2010-04-01/Accounts/{AccountSid}/Messages.json", s.listMessages)
	// ServeMux wildcards span whole segments, so "{Sid}.json" cannot be a
	// pattern; the handler strips the suffix.
	mux.HandleFunc("GET /2010-04-01/Accounts/{AccountSid}/Messages/{file}", s.fetchMessage)
	mux.HandleFunc("GET /_standin/messages", s.controlMessages)
	mux.HandleFunc("POST /_standin/fail", s.controlFail)
	mux.HandleFunc("POST /_standin/reset", s.controlReset)
	mux.HandleFunc("POST /_standin/repeat-sid", s.controlRepeatSid)
	mux.HandleFunc("POST /_standin/callbacks", s.controlCallbacks)
	mux.HandleFunc("POST /_standin/faults", s.controlOutage)
	mux.HandleFunc("GET /_standin/faults", s.controlOutageStats)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, 20404,
			fmt.Sprintf("The requested resource %s was not found", r.URL.Path))
	})
	s.mux = mux
	return s
}

func newGeneration() *generation {
	ctx, cancel := context.WithCancel(context.Background())
	return &generation{ctx: ctx, cancel: cancel}
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

// Messages returns the accepted messages, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.messages))
	for i, rec := range s.messages {
		out[i] = rec.Message
	}
	return out
}

// Reset forgets every message and pending fault, and stops (and waits for)
// the callbacks of the forgotten messages, so a test starting after Reset
// never receives a callback about a message it did not send.
func (s *Server) Reset() {
	s.mu.Lock()
	s.messages = nil
	s.bySid = map[string]*record{}
	s.faults = nil
	s.unsubscribed = nil
	s.noCallbacks = false
	s.outage = outageState{}
	old := s.gen
	s.gen = newGeneration()
	if s.closed {
		s.gen.cancel()
	}
	s.mu.Unlock()
	old.cancel()
	old.wg.Wait()
}

// Close stops status callbacks and waits for those in flight. The handler
// keeps answering afterwards (httptest servers often outlive it in a test's
// cleanup order) but schedules no more callbacks.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	s.gen.cancel()
	s.mu.Unlock()
	s.closeOnce.Do(func() { close(s.done) })
	s.all.Wait()
}

// FailNext makes the next n message creations fail with httpStatus and a
// Twilio error body carrying code and message; they are not recorded.
// Successive calls queue up, so a test can script e.g. a 500 then a 429.
func (s *Server) FailNext(n int, httpStatus int, code int, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults = append(s.faults, fault{status: httpStatus, code: code, message: message})
	}
}

// FailNextBody makes the next n message creations fail with httpStatus and
// this body as is, for answers that are not Twilio's error JSON (a proxy's
// page, an error body of another shape).
func (s *Server) FailNextBody(n int, httpStatus int, contentType, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults = append(s.faults, fault{status: httpStatus, contentType: contentType, body: body})
	}
}

// RepeatLastSid makes the next n message creations answer 201 with the
// last accepted message's resource (its SID) instead of creating one, as
// a provider fault that hands out a SID twice. Nothing is sent for them.
func (s *Server) RepeatLastSid(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults = append(s.faults, fault{repeatSid: true})
	}
}

// Unsubscribe makes every later message to the number fail as Twilio
// answers for a recipient who replied STOP to it: 400, error 21610, and
// nothing sent, until Reset.
func (s *Server) Unsubscribe(to string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.unsubscribed == nil {
		s.unsubscribed = map[string]int{}
	}
	s.unsubscribed[to] += 0
}

// Refused counts the messages to an unsubscribed number refused so far.
func (s *Server) Refused(to string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.unsubscribed[to]
}

func (s *Server) refuse(to string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.unsubscribed[to]; !ok {
		return false
	}
	s.unsubscribed[to]++
	return true
}

// SetCallbacks turns status callbacks on or off. Off, messages still move
// to sent and delivered, but nobody is told: the callbacks are lost, as
// when they reach a receiver that is down. Reset turns them back on.
func (s *Server) SetCallbacks(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noCallbacks = !on
}

func (s *Server) callbacksOn() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.noCallbacks
}

func (s *Server) takeFault() (fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.faults) == 0 {
		return fault{}, false
	}
	f := s.faults[0]
	s.faults = s.faults[1:]
	return f, true
}

// authenticate checks basic auth the way the Messages API needs it and
// returns the password, which may become the callback signing key.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (string, bool) {
	user, pass, ok := r.BasicAuth()
	// The username is not compared with the path's account SID: production
	// may authenticate with an API key SID (SK...) instead.
	if ok && user != "" && pass != "" &&
		(s.opts.AuthToken == "" || subtle.ConstantTimeCompare([]byte(pass), []byte(s.opts.AuthToken)) == 1) {
		return pass, true
	}
	w.Header().Set("WWW-Authenticate", `Basic realm="Twilio API"`)
	writeJSON(w, http.StatusUnauthorized, apiError{
		Code:     20003,
		Detail:   "Your AccountSid or AuthToken was incorrect.",
		Message:  "Authenticate",
		MoreInfo: moreInfo(20003),
		Status:   http.StatusUnauthorized,
	})
	return "", false
}

// accountSid is the shape of an Account SID: "AC" and 32 hex digits.
var accountSid = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)

// checkAccount refuses a URL whose account SID is not an Account SID's
// shape, before anything else happens, as Twilio refuses such a request
// without sending anything. Twilio's generic codes are 20000+status.
func checkAccount(w http.ResponseWriter, r *http.Request) bool {
	if accountSid.MatchString(r.PathValue("AccountSid")) {
		return true
	}
	writeError(w, http.StatusUnprocessableEntity, 20422,
		"Invalid AccountSid in the URL: an Account SID is AC followed by 32 hexadecimal digits.")
	return false
}

func (s *Server) createMessage(w http.ResponseWriter, r *http.Request) {
	if !checkAccount(w, r) {
		return
	}
	key, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, 20001, "Could not parse the request body")
		return
	}
	answered, hang := s.outageFor(w, r, true)
	if answered {
		return
	}
	if f, ok := s.takeFault(); ok {
		switch {
		case f.repeatSid:
			if s.repeatLast(w) {
				return
			}
			// Nothing to repeat yet: create the message as usual.
		case f.body != "":
			s.log.Info("twilio stand-in: injected failure", "status", f.status, "body_bytes", len(f.body))
			w.Header().Set("Content-Type", f.contentType)
			w.WriteHeader(f.status)
			_, _ = w.Write([]byte(f.body))
			return
		default:
			s.log.Info("twilio stand-in: injected failure", "status", f.status, "code", f.code)
			writeError(w, f.status, f.code, f.message)
			return
		}
	}

	to := r.Form.Get("To")
	from := r.Form.Get("From")
	service := r.Form.Get("MessagingServiceSid")
	body := r.Form.Get("Body")
	callback := r.Form.Get("StatusCallback")
	// Checked in the order Twilio reports them, so a request with several
	// problems gets the same code it would get from Twilio.
	switch {
	case to == "":
		writeError(w, http.StatusBadRequest, 21604, "A 'To' phone number is required.")
		return
	case !e164.MatchString(to):
		writeError(w, http.StatusBadRequest, 21211,
			fmt.Sprintf("The 'To' number %s is not a valid phone number.", to))
		return
	case from == "" && service == "":
		writeError(w, http.StatusBadRequest, 21603, "A 'From' phone number is required.")
		return
	case body == "" && r.Form.Get("MediaUrl") == "" && r.Form.Get("ContentSid") == "":
		writeError(w, http.StatusBadRequest, 21602, "Message body is required.")
		return
	case len([]rune(body)) > 1600:
		writeError(w, http.StatusBadRequest, 21617,
			"The concatenated message body exceeds the 1600 character limit.")
		return
	case callback != "" && !validCallback(callback):
		writeError(w, http.StatusBadRequest, 21609,
			fmt.Sprintf("The StatusCallback URL %s is not a valid URL.", callback))
		return
	}
	if s.refuse(to) {
		writeError(w, http.StatusBadRequest, 21610, "Attempt to send to unsubscribed recipient")
		return
	}

	now := time.Now().UTC()
	// A Messaging Service picks the sender later, which Twilio reports as
	// "accepted" rather than "queued".
	status := "queued"
	if from == "" {
		status = "accepted"
	}
	rec := &record{
		Message: Message{
			Sid:                 newSid("SM"),
			AccountSid:          r.PathValue("AccountSid"),
			To:                  to,
			From:                from,
			MessagingServiceSid: service,
			Body:                body,
			StatusCallback:      callback,
			Status:              status,
			Created:             now,
			Updated:             now,
		},
		signingKey: key,
	}
	if s.opts.AuthToken != "" {
		rec.signingKey = s.opts.AuthToken
	}

	s.mu.Lock()
	s.seq++
	rec.seq = s.seq
	s.messages = append(s.messages, rec)
	s.bySid[rec.Sid] = rec
	res := toResource(rec.Message)
	// Adding to the WaitGroups under the same lock Close takes guarantees no
	// Add happens after Close started waiting.
	if !s.closed {
		g := s.gen
		g.wg.Add(1)
		s.all.Add(1)
		go s.progress(g, rec.Sid, rec.StatusCallback, rec.signingKey)
	}
	s.mu.Unlock()

	// Not the numbers: a log line carries no phone number.
	s.log.Info("twilio stand-in: message accepted", "sid", rec.Sid)
	if hang > 0 {
		s.mu.Lock()
		s.outage.stats.HungAccepted++
		s.mu.Unlock()
	}
	if !s.stall(r.Context(), hang) {
		s.log.Info("twilio stand-in: outage: accepted, but the client left before the answer", "sid", rec.Sid)
		return
	}
	writeJSON(w, http.StatusCreated, res)
}

// repeatLast answers a creation with the last accepted message; false if
// there is none.
func (s *Server) repeatLast(w http.ResponseWriter) bool {
	s.mu.Lock()
	if len(s.messages) == 0 {
		s.mu.Unlock()
		return false
	}
	last := s.messages[len(s.messages)-1]
	res := toResource(last.Message)
	s.mu.Unlock()
	s.log.Info("twilio stand-in: injected fault: repeating the last SID", "sid", last.Sid)
	writeJSON(w, http.StatusCreated, res)
	return true
}

func validCallback(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func (s *Server) fetchMessage(w http.ResponseWriter, r *http.Request) {
	if !checkAccount(w, r) {
		return
	}
	if _, ok := s.authenticate(w, r); !ok {
		return
	}
	if answered, hang := s.outageFor(w, r, false); answered || !s.stall(r.Context(), hang) {
		return
	}
	sid, ok := strings.CutSuffix(r.PathValue("file"), ".json")
	s.mu.Lock()
	rec := s.bySid[sid]
	var res resource
	if rec != nil {
		res = toResource(rec.Message)
	}
	s.mu.Unlock()
	if !ok || rec == nil || rec.AccountSid != r.PathValue("AccountSid") {
		writeError(w, http.StatusNotFound, 20404,
			fmt.Sprintf("The requested resource %s was not found", r.URL.Path))
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// dayFilter is one DateSent condition. Twilio compares GMT calendar days,
// not instants: "DateSent>" means sent on or after midnight of that day.
type dayFilter struct {
	op  byte // '=', '>' or '<'
	day time.Time
}

func (f dayFilter) match(sent time.Time) bool {
	// A message not sent yet has a null date_sent, which no DateSent
	// condition matches.
	if sent.IsZero() {
		return false
	}
	d := truncateDay(sent)
	switch f.op {
	case '>':
		return !d.Before(f.day)
	case '<':
		return !d.After(f.day)
	default:
		return d.Equal(f.day)
	}
}

func truncateDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// parseDay accepts the documented YYYY-MM-DD and the RFC 3339 timestamps
// twilio-go sends.
func parseDay(v string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339, time.DateOnly} {
		if t, err := time.Parse(layout, v); err == nil {
			return truncateDay(t), true
		}
	}
	return time.Time{}, false
}

type listPage struct {
	End             int        `json:"end"`
	FirstPageURI    string     `json:"first_page_uri"`
	Messages        []resource `json:"messages"`
	NextPageURI     *string    `json:"next_page_uri"`
	Page            int        `json:"page"`
	PageSize        int        `json:"page_size"`
	PreviousPageURI *string    `json:"previous_page_uri"`
	Start           int        `json:"start"`
	URI             string     `json:"uri"`
}

func (s *Server) listMessages(w http.ResponseWriter, r *http.Request) {
	if !checkAccount(w, r) {
		return
	}
	if _, ok := s.authenticate(w, r); !ok {
		return
	}
	if answered, hang := s.outageFor(w, r, false); answered || !s.stall(r.Context(), hang) {
		return
	}
	q := r.URL.Query()
	account := r.PathValue("AccountSid")

	// Kept to rebuild page URIs with the caller's own filters, as Twilio does.
	filters := url.Values{}
	var days []dayFilter
	for _, p := range []struct {
		key string
		op  byte
	}{{"DateSent", '='}, {"DateSent>", '>'}, {"DateSent<", '<'}} {
		v := q.Get(p.key)
		if v == "" {
			continue
		}
		d, ok := parseDay(v)
		if !ok {
			writeError(w, http.StatusBadRequest, 20001, "Invalid date value.")
			return
		}
		days = append(days, dayFilter{op: p.op, day: d})
		filters.Set(p.key, v)
	}
	to, from := q.Get("To"), q.Get("From")
	if to != "" {
		filters.Set("To", to)
	}
	if from != "" {
		filters.Set("From", from)
	}
	pageSize := 50
	if v := q.Get("PageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, 20001, "Invalid PageSize.")
			return
		}
		pageSize = min(n, 1000)
	}
	page := 0
	if v := q.Get("Page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, 20001, "Invalid Page.")
			return
		}
		page = n
	}

	s.mu.Lock()
	var matched []*record
	for _, rec := range s.messages {
		if rec.AccountSid != account || (to != "" && rec.To != to) || (from != "" && rec.From != from) {
			continue
		}
		ok := true
		for _, f := range days {
			ok = ok && f.match(rec.Sent)
		}
		if ok {
			matched = append(matched, rec)
		}
	}
	// Newest first, like Twilio.
	sort.Slice(matched, func(i, j int) bool { return matched[i].seq > matched[j].seq })

	// A PageToken names the last message of the previous page ("PA" + its
	// SID), so messages created while a client pages do not shift what it
	// sees; without one, Page alone positions the page.
	start := page * pageSize
	if tok := q.Get("PageToken"); tok != "" {
		start = len(matched)
		for i, rec := range matched {
			if "PA"+rec.Sid == tok {
				start = i + 1
				break
			}
		}
	}
	start = min(start, len(matched))
	end := min(start+pageSize, len(matched))
	items := make([]resource, 0, end-start)
	for _, rec := range matched[start:end] {
		items = append(items, toResource(rec.Message))
	}
	var lastSid string
	if end > start {
		lastSid = matched[end-1].Sid
	}
	more := end < len(matched)
	s.mu.Unlock()

	path := r.URL.Path
	pageURI := func(n int, token string) string {
		v := url.Values{}
		for k, vs := range filters {
			v[k] = vs
		}
		v.Set("PageSize", strconv.Itoa(pageSize))
		v.Set("Page", strconv.Itoa(n))
		if token != "" {
			v.Set("PageToken", token)
		}
		return path + "?" + v.Encode()
	}
	res := listPage{
		FirstPageURI: pageURI(0, ""),
		Messages:     items,
		Page:         page,
		PageSize:     pageSize,
		Start:        start,
		End:          max(start, end-1),
		URI:          pageURI(page, q.Get("PageToken")),
	}
	if more {
		next := pageURI(page+1, "PA"+lastSid)
		res.NextPageURI = &next
	}
	if page > 0 {
		prev := pageURI(page-1, "")
		res.PreviousPageURI = &prev
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) controlMessages(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Messages())
}

// failRequest is the body of POST /_standin/fail.
type failRequest struct {
	Count   int    `json:"count"`
	Status  int    `json:"status"`
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (s *Server) controlFail(w http.ResponseWriter, r *http.Request) {
	var req failRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body must be JSON {count,status,code,message}: " + err.Error()})
		return
	}
	if req.Count == 0 {
		req.Count = 1
	}
	if req.Count < 0 || req.Status < 400 || req.Status > 599 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "count must be positive and status a 4xx or 5xx"})
		return
	}
	// Twilio's generic codes are 20000+status (20429, 20500, 20503...).
	if req.Code == 0 {
		req.Code = 20000 + req.Status
	}
	if req.Message == "" {
		req.Message = http.StatusText(req.Status)
	}
	s.FailNext(req.Count, req.Status, req.Code, req.Message)
	w.WriteHeader(http.StatusNoContent)
}

// countRequest is the body of POST /_standin/repeat-sid.
type countRequest struct {
	Count int `json:"count"`
}

func (s *Server) controlRepeatSid(w http.ResponseWriter, r *http.Request) {
	var req countRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil && err != io.EOF {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body must be JSON {count}: " + err.Error()})
		return
	}
	if req.Count == 0 {
		req.Count = 1
	}
	if req.Count < 0 || req.Count > 1000 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "count must be 1 to 1000"})
		return
	}
	s.RepeatLastSid(req.Count)
	w.WriteHeader(http.StatusNoContent)
}

// callbacksRequest is the body of POST /_standin/callbacks.
type callbacksRequest struct {
	Enabled *bool `json:"enabled"`
}

func (s *Server) controlCallbacks(w http.ResponseWriter, r *http.Request) {
	var req callbacksRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Enabled == nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": `body must be JSON {"enabled": true|false}`})
		return
	}
	s.SetCallbacks(*req.Enabled)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) controlReset(w http.ResponseWriter, _ *http.Request) {
	s.Reset()
	w.WriteHeader(http.StatusNoContent)
}

// progress moves a message through sent and delivered, posting a status
// callback at each step when the message asked for one.
func (s *Server) progress(g *generation, sid, callback, key string) {
	defer s.all.Done()
	defer g.wg.Done()
	for _, status := range []string{"sent", "delivered"} {
		t := time.NewTimer(s.opts.CallbackDelay)
		select {
		case <-g.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		params, ok := s.advance(sid, status)
		if !ok {
			return
		}
		if callback != "" && s.callbacksOn() {
			s.postCallback(g.ctx, callback, key, params)
		}
	}
}

// advance sets the message's status and returns the callback parameters
// Twilio sends for it; false when Reset dropped the message meanwhile.
func (s *Server) advance(sid, status string) (url.Values, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.bySid[sid]
	if rec == nil {
		return nil, false
	}
	now := time.Now().UTC()
	rec.Status = status
	rec.Updated = now
	if status == "sent" {
		rec.Sent = now
	}
	p := url.Values{}
	p.Set("MessageSid", rec.Sid)
	p.Set("SmsSid", rec.Sid)
	p.Set("SmsStatus", status)
	p.Set("MessageStatus", status)
	p.Set("AccountSid", rec.AccountSid)
	p.Set("To", rec.To)
	if rec.From != "" {
		p.Set("From", rec.From)
	}
	if rec.MessagingServiceSid != "" {
		p.Set("MessagingServiceSid", rec.MessagingServiceSid)
	}
	p.Set("ApiVersion", apiVersion)
	return p, true
}

func (s *Server) postCallback(ctx context.Context, callback, key string, params url.Values) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, callback, strings.NewReader(params.Encode()))
	if err != nil {
		s.log.Warn("twilio stand-in: bad status callback URL", "url", callback, "err", err)
		return
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	req.Header.Set("X-Twilio-Signature", Signature(key, callback, params))
	resp, err := s.client.Do(req)
	if err != nil {
		// Twilio does not retry status callbacks either; the receiver must
		// cope with a missing one (e.g. by fetching the message).
		if ctx.Err() == nil {
			s.log.Warn("twilio stand-in: status callback failed", "url", callback, "err", err)
		}
		return
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		s.log.Warn("twilio stand-in: status callback rejected", "url", callback, "status", resp.StatusCode)
	}
}

func newSid(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails since Go 1.24.
	return prefix + hex.EncodeToString(b[:])
}
