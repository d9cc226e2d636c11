package twiliostandin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Outage modes: how the Messages API misbehaves for a while (SetOutage).
// Unlike FailNext, which scripts the next few answers, an outage lasts a
// span of time whoever calls, as a provider incident does; the chaos run
// switches them while messages are being sent.
const (
	// OutageNone answers normally.
	OutageNone = "none"
	// Outage500 answers every Messages call 500 (Twilio error 20500);
	// nothing is sent.
	Outage500 = "500"
	// Outage429 answers every Messages call 429 (error 20429, "Too Many
	// Requests") with a Retry-After header; nothing is sent.
	Outage429 = "429"
	// OutageHang accepts a message (it is sent and counted, its status
	// callbacks follow) and then answers nothing until the client gives
	// up or the hang ends: the client cannot tell whether it was sent.
	// List and fetch calls hang the same way.
	OutageHang = "hang"
)

// Outage bounds, so a typo in a control request cannot wedge a run.
const (
	maxOutage         = time.Hour
	maxOutageHang     = 10 * time.Minute
	defaultRetryAfter = 2 * time.Second
	defaultHang       = 30 * time.Second
	// maxRateLimited bounds the messages remembered for the early-retry
	// count; later ones are not checked.
	maxRateLimited = 100_000
)

// Outage is a fault mode and how long it lasts.
type Outage struct {
	Mode string
	// For is how long from now it lasts.
	For time.Duration
	// RetryAfter is the Retry-After of a 429 (default 2s; whole seconds).
	RetryAfter time.Duration
	// Hang is how long a hung call waits before answering after all
	// (default 30s), if the client is still there.
	Hang time.Duration
}

// OutageStats is what the stand-in answered during outages since the last
// Reset. EarlyRetries counts message creations that came back for the
// same recipient and body before the Retry-After of the 429 they got had
// passed: a client that honours Retry-After has none.
type OutageStats struct {
	Mode         string    `json:"mode"`
	Until        time.Time `json:"until,omitzero"`
	Answered500  int       `json:"answered_500"`
	Answered429  int       `json:"answered_429"`
	Hung         int       `json:"hung"`
	HungAccepted int       `json:"hung_accepted"`
	EarlyRetries int       `json:"early_retries"`
}

type outageState struct {
	Outage
	until time.Time
	stats OutageStats
	// notBefore is, per recipient and body, when a 429 said to come back.
	notBefore map[string]time.Time
}

// SetOutage starts o.Mode for o.For from now, replacing any outage under
// way; OutageNone ends it. Counts survive until Reset.
func (s *Server) SetOutage(o Outage) error {
	switch o.Mode {
	case OutageNone, Outage500, Outage429, OutageHang:
	default:
		return fmt.Errorf("mode %q: want none, 500, 429 or hang", o.Mode)
	}
	if o.Mode != OutageNone && (o.For <= 0 || o.For > maxOutage) {
		return fmt.Errorf("for %s: want more than 0 and at most %s", o.For, maxOutage)
	}
	if o.RetryAfter == 0 {
		o.RetryAfter = defaultRetryAfter
	}
	if o.RetryAfter < time.Second || o.RetryAfter > maxOutage {
		return fmt.Errorf("retry_after %s: want 1s to %s", o.RetryAfter, maxOutage)
	}
	if o.Hang == 0 {
		o.Hang = defaultHang
	}
	if o.Hang < 0 || o.Hang > maxOutageHang {
		return fmt.Errorf("hang %s: want at most %s", o.Hang, maxOutageHang)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outage.Outage = o
	s.outage.until = time.Now().Add(o.For)
	if o.Mode == OutageNone {
		s.outage.until = time.Time{}
	}
	return nil
}

// Outages returns the outage under way and the counts since Reset.
func (s *Server) Outages() OutageStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.outage.stats
	st.Mode = OutageNone
	if o, ok := s.currentOutageLocked(); ok {
		st.Mode, st.Until = o.Mode, s.outage.until
	}
	return st
}

func (s *Server) currentOutageLocked() (Outage, bool) {
	o := s.outage.Outage
	if o.Mode == "" || o.Mode == OutageNone || !time.Now().Before(s.outage.until) {
		return Outage{}, false
	}
	return o, true
}

// outageFor answers a Messages call as the outage under way says. It
// returns true when it answered (nothing more to do), and otherwise the
// hang to apply after the call's own work (0 for none).
func (s *Server) outageFor(w http.ResponseWriter, r *http.Request, create bool) (answered bool, hang time.Duration) {
	s.mu.Lock()
	o, ok := s.currentOutageLocked()
	if create {
		s.noteRetryLocked(r)
	}
	if !ok {
		s.mu.Unlock()
		return false, 0
	}
	switch o.Mode {
	case Outage500:
		s.outage.stats.Answered500++
		s.mu.Unlock()
		writeError(w, http.StatusInternalServerError, 20500, "Internal Server Error")
		return true, 0
	case Outage429:
		s.outage.stats.Answered429++
		if create {
			s.rememberRateLimitLocked(r, o.RetryAfter)
		}
		s.mu.Unlock()
		secs := int((o.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		writeError(w, http.StatusTooManyRequests, 20429, "Too Many Requests")
		return true, 0
	}
	s.outage.stats.Hung++
	s.mu.Unlock()
	return false, o.Hang
}

func retryKey(r *http.Request) string {
	return r.Form.Get("To") + "\x00" + r.Form.Get("Body")
}

func (s *Server) rememberRateLimitLocked(r *http.Request, after time.Duration) {
	if s.outage.notBefore == nil {
		s.outage.notBefore = map[string]time.Time{}
	}
	if len(s.outage.notBefore) < maxRateLimited {
		s.outage.notBefore[retryKey(r)] = time.Now().Add(after)
	}
}

// noteRetryLocked counts a creation that comes back before its 429's
// Retry-After. Twilio's Retry-After is whole seconds and the clocks
// involved are not exact, so a retry up to 100ms early still counts as
// honouring it.
func (s *Server) noteRetryLocked(r *http.Request) {
	key := retryKey(r)
	nb, ok := s.outage.notBefore[key]
	if !ok {
		return
	}
	delete(s.outage.notBefore, key)
	if time.Now().Add(100 * time.Millisecond).Before(nb) {
		s.outage.stats.EarlyRetries++
	}
}

// stall waits d, or less if the client goes away or the stand-in
// closes; true if the client is still there to be answered.
func (s *Server) stall(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-s.done:
		return false
	case <-t.C:
		return true
	}
}

// outageRequest is the body of POST /_standin/faults: durations as Go
// writes them ("20s", "1m30s").
type outageRequest struct {
	Mode       string `json:"mode"`
	For        string `json:"for"`
	RetryAfter string `json:"retry_after"`
	Hang       string `json:"hang"`
}

func parseOptionalDuration(field, v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", field, err)
	}
	return d, nil
}

func (s *Server) controlOutage(w http.ResponseWriter, r *http.Request) {
	var req outageRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<10))
	dec.DisallowUnknownFields()
	err := dec.Decode(&req)
	var o Outage
	if err == nil {
		o.Mode = req.Mode
		o.For, err = parseOptionalDuration("for", req.For)
	}
	if err == nil {
		o.RetryAfter, err = parseOptionalDuration("retry_after", req.RetryAfter)
	}
	if err == nil {
		o.Hang, err = parseOptionalDuration("hang", req.Hang)
	}
	if err == nil {
		err = s.SetOutage(o)
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": `body must be JSON {"mode":"500|429|hang|none","for":"20s","retry_after":"2s","hang":"30s"}: ` + err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, s.Outages())
}

func (s *Server) controlOutageStats(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Outages())
}
