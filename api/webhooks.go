package api

import (
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/twilio/twilio-go/client"

	"github.com/dangol/dangol/activities"
	"github.com/dangol/dangol/store"
)

// What a Twilio status report may carry; anything else is not Twilio's
// (or would not fit what is stored) and is refused with a 400.
var (
	twilioSidShape       = regexp.MustCompile(`^[A-Z]{2}[0-9a-fA-F]{32}$`)
	twilioStatusShape    = regexp.MustCompile(`^[a-z_]{1,32}$`)
	twilioErrorCodeShape = regexp.MustCompile(`^[0-9]{1,10}$`)
)

// twilioStatus applies Twilio's delivery reports. Only requests signed
// with our auth token over our public URL (query included) count; anything
// else is 403.
//
// The callback URL of each message names it (?m=<id>, see
// activities.StatusCallbackParam), so a report reaches its message even if
// the provider's SID was never recorded (the process died first); reports
// without it (messages sent before that) are matched by SID. A report
// delivered again adds nothing.
func (s *Server) twilioStatus(w http.ResponseWriter, r *http.Request) {
	params, ok := s.twilioForm(w, r)
	if !ok {
		return
	}
	report := store.ProviderReport{ProviderID: params["MessageSid"], Status: params["MessageStatus"], ErrorCode: params["ErrorCode"], Source: "twilio"}
	switch {
	case report.ProviderID == "":
		renderError(w, r, badField("MessageSid", "is required"))
		return
	case !twilioSidShape.MatchString(report.ProviderID):
		renderError(w, r, badField("MessageSid", "is not a Twilio message SID"))
		return
	case report.Status == "":
		renderError(w, r, badField("MessageStatus", "is required"))
		return
	case !twilioStatusShape.MatchString(report.Status):
		renderError(w, r, badField("MessageStatus", "is not a Twilio message status"))
		return
	case report.ErrorCode != "" && !twilioErrorCodeShape.MatchString(report.ErrorCode):
		renderError(w, r, badField("ErrorCode", "is not a Twilio error code"))
		return
	}
	if raw := r.URL.Query().Get(activities.StatusCallbackParam); raw != "" {
		id, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || id <= 0 {
			renderError(w, r, badField(activities.StatusCallbackParam, "is not a message id"))
			return
		}
		report.MessageID = id
	}
	_, err := s.Store.ApplyProviderReport(r.Context(), report)
	if errors.Is(err, store.ErrNotFound) {
		// Not ours (or sent before its row was stored): acknowledge so the
		// provider does not retry forever.
		s.logger().WarnContext(r.Context(), "status for unknown message", "sid", report.ProviderID, "message", report.MessageID, "status", report.Status)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if err != nil {
		renderError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// twilioForm reads a Twilio webhook's form and checks its signature (our
// auth token over our public URL, query included, and the form); a
// request that fails either is answered here, before anything is read
// into the database, and ok is false.
func (s *Server) twilioForm(w http.ResponseWriter, r *http.Request) (params map[string]string, ok bool) {
	if err := r.ParseForm(); err != nil {
		renderError(w, r, decodeProblem(err))
		return nil, false
	}
	if err := checkForm(r.PostForm); err != nil {
		renderError(w, r, err)
		return nil, false
	}
	params = map[string]string{}
	for k, v := range r.PostForm {
		if len(v) > 0 {
			params[k] = v[0]
		}
	}
	url := strings.TrimRight(s.PublicBaseURL, "/") + r.URL.RequestURI()
	validator := client.NewRequestValidator(s.TwilioAuthToken)
	if s.TwilioAuthToken == "" || !validator.Validate(url, params, r.Header.Get("X-Twilio-Signature")) {
		renderError(w, r, &Problem{Type: "about:blank", Title: "Forbidden", Status: http.StatusForbidden, Detail: "invalid Twilio signature"})
		return nil, false
	}
	return params, true
}
