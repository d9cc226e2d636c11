package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/twilio/twilio-go/client"

	"github.com/dangol/dangol/store"
)

// twilioStatus applies Twilio's delivery reports. Only requests signed
// with our auth token over our public URL count; anything else is 403.
func (s *Server) twilioStatus(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		renderError(w, r, decodeProblem(err))
		return
	}
	if err := checkForm(r.PostForm); err != nil {
		renderError(w, r, err)
		return
	}
	params := map[string]string{}
	for k, v := range r.PostForm {
		if len(v) > 0 {
			params[k] = v[0]
		}
	}
	url := strings.TrimRight(s.PublicBaseURL, "/") + r.URL.RequestURI()
	validator := client.NewRequestValidator(s.TwilioAuthToken)
	if s.TwilioAuthToken == "" || !validator.Validate(url, params, r.Header.Get("X-Twilio-Signature")) {
		renderError(w, r, &Problem{Type: "about:blank", Title: "Forbidden", Status: http.StatusForbidden, Detail: "invalid Twilio signature"})
		return
	}
	sid, status := params["MessageSid"], params["MessageStatus"]
	if sid == "" {
		renderError(w, r, badField("MessageSid", "is required"))
		return
	}
	if status == "" {
		renderError(w, r, badField("MessageStatus", "is required"))
		return
	}
	detail := map[string]string{"source": "twilio"}
	if code := params["ErrorCode"]; code != "" {
		detail["error_code"] = code
	}
	_, err := s.Store.RecordProviderStatus(r.Context(), sid, status, detail)
	if errors.Is(err, store.ErrNotFound) {
		// Not ours (or sent before its row was stored): acknowledge so the
		// provider does not retry forever.
		s.logger().WarnContext(r.Context(), "status for unknown message", "sid", sid, "status", status)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if err != nil {
		renderError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
