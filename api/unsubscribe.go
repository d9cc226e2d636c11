package api

import (
	"errors"
	"html/template"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/dangol/dangol/links"
	"github.com/dangol/dangol/store"
	"github.com/dangol/dangol/workflows"
)

// The unsubscribe page is what a customer opens from the link in a
// marketing message, and what a mail client's one-click unsubscribe
// (RFC 8058) posts to: no login, the signed token is the key. Plain HTML
// in Korean and English, one button, no script.
var unsubscribePage = template.Must(template.New("unsubscribe").Parse(`<!doctype html>
<html lang="ko"><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>수신거부 · Unsubscribe</title>
<body style="font-family:sans-serif;max-width:32em;margin:2em auto;padding:0 1em;line-height:1.5">
{{- if eq .State "confirm"}}
<h1>광고성 {{.KO}} 수신거부</h1>
<p>아래 버튼을 누르시면 더 이상 광고성 {{.KOObj}} 보내드리지 않습니다.</p>
<p lang="en">Press the button to stop receiving advertising {{.EN}} from us.</p>
<form method="post"><p><button name="List-Unsubscribe" value="One-Click" style="font-size:1.2em;padding:.5em 1em">수신거부 · Unsubscribe</button></p></form>
{{- else if eq .State "done"}}
<h1>수신거부가 완료되었습니다</h1>
<p>앞으로 광고성 {{.KOObj}} 보내드리지 않습니다. ({{.At}})</p>
<p lang="en">You are unsubscribed: we will send you no more advertising {{.EN}}.</p>
{{- if .PrefsURL}}
<p><a href="{{.PrefsURL}}">다른 수신 설정 보기 · See and change all your preferences</a></p>
{{- end}}
{{- else if eq .State "already"}}
<h1>이미 수신거부되어 있습니다</h1>
<p>광고성 {{.KOObj}} 보내드리지 않고 있습니다.</p>
<p lang="en">You are already unsubscribed from advertising {{.EN}}.</p>
{{- if .PrefsURL}}
<p><a href="{{.PrefsURL}}">다른 수신 설정 보기 · See and change all your preferences</a></p>
{{- end}}
{{- else if eq .State "expired"}}
<h1>링크의 유효기간이 지났습니다</h1>
<p>최근에 받으신 메시지의 수신거부 링크를 이용하시거나 매장에 연락해 주세요. 아무것도 변경되지 않았습니다.</p>
<p lang="en">This link has expired and nothing was changed. Please use the link in a more recent message, or contact the store.</p>
{{- else}}
<h1>올바르지 않은 링크입니다</h1>
<p>링크가 잘못되었거나 손상되었습니다. 아무것도 변경되지 않았습니다.</p>
<p lang="en">This link is not valid and nothing was changed. Please use the link exactly as it was in the message.</p>
{{- end}}
</body></html>`))

type unsubscribeView struct {
	State string // confirm, done, already, expired, invalid
	// The channel in each language; KOObj with its object particle.
	KO, KOObj, EN string
	At            string
	// PrefsURL is the customer's preference page, shown once they are
	// unsubscribed.
	PrefsURL string
}

func channelView(state, channel string) unsubscribeView {
	if channel == links.ChannelSMS {
		return unsubscribeView{State: state, KO: "문자(SMS)", KOObj: "문자(SMS)를", EN: "text messages"}
	}
	return unsubscribeView{State: state, KO: "이메일", KOObj: "이메일을", EN: "email"}
}

func renderUnsubscribe(w http.ResponseWriter, status int, v unsubscribeView) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// The token in the URL is the customer's key: nobody caches the page,
	// nobody gets it as a referrer, and nobody frames the button.
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	w.WriteHeader(status)
	_ = unsubscribePage.Execute(w, v)
}

// unsubscribeClaims verifies the link; a forged or expired one gets its
// 403 page here and nothing else happens.
func (s *Server) unsubscribeClaims(w http.ResponseWriter, r *http.Request) (links.Claims, bool) {
	return s.linkClaims(w, r, links.PurposeMarketing)
}

// linkClaims verifies the link's token and that it was made for purpose
// (an unsubscribe link opens no preference page, nor the other way round).
func (s *Server) linkClaims(w http.ResponseWriter, r *http.Request, purpose string) (links.Claims, bool) {
	c, err := links.Verify(s.LinkSecret, chi.URLParam(r, "token"), time.Now())
	if err == nil && c.Purpose != purpose {
		err = links.ErrForged
	}
	switch {
	case err == nil:
		return c, true
	case errors.Is(err, links.ErrExpired):
		renderUnsubscribe(w, http.StatusForbidden, unsubscribeView{State: "expired"})
	case errors.Is(err, links.ErrForged):
		renderUnsubscribe(w, http.StatusForbidden, unsubscribeView{State: "invalid"})
	default:
		// No usable secret: dangol is misconfigured, not the link wrong.
		renderError(w, r, err)
	}
	return c, false
}

func (s *Server) unsubscribeForm(w http.ResponseWriter, r *http.Request) {
	c, ok := s.unsubscribeClaims(w, r)
	if !ok {
		return
	}
	renderUnsubscribe(w, http.StatusOK, channelView("confirm", c.Channel))
}

// unsubscribe withdraws the consent the link names. The body is not read:
// our own button and a mail client's "List-Unsubscribe=One-Click" (RFC
// 8058) both carry no more than the token already says, and no quirk of a
// client's body may keep a customer from leaving.
func (s *Server) unsubscribe(w http.ResponseWriter, r *http.Request) {
	c, ok := s.unsubscribeClaims(w, r)
	if !ok {
		return
	}
	now := time.Now().UTC()
	changed, before, after, err := s.Store.WithdrawConsent(r.Context(), c.CustomerID, c.Channel, store.SourceUnsubscribeLink, now)
	if errors.Is(err, store.ErrNotFound) {
		// The customer was erased: nothing is sent to them any more.
		renderUnsubscribe(w, http.StatusOK, channelView("already", c.Channel))
		return
	}
	if err != nil {
		renderError(w, r, err)
		return
	}
	if !changed {
		already := channelView("already", c.Channel)
		already.PrefsURL = s.preferencesLink(c)
		renderUnsubscribe(w, http.StatusOK, already)
		return
	}
	// As PUT /v1/customers: the database gate already stops the next
	// marketing send on this channel; when nothing is left the customer
	// consents to, the enrolments end now rather than at their next step.
	if !before.OptedOut() && after.OptedOut() {
		s.signalCustomer(r, after.ID, workflows.SignalOptOut, nil)
	}
	done := channelView("done", c.Channel)
	loc, err := time.LoadLocation(after.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	done.At = now.In(loc).Format("2006-01-02 15:04 MST")
	done.PrefsURL = s.preferencesLink(c)
	renderUnsubscribe(w, http.StatusOK, done)
}
