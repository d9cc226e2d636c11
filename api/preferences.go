package api

import (
	"errors"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/links"
	"github.com/dangol/dangol/store"
	"github.com/dangol/dangol/workflows"
)

// The preference page is where a customer sees which advertising they
// receive and switches it off or on, from the link in a marketing mail's
// footer or the unsubscribe page: no login (the signed token is the key),
// plain HTML in Korean and English, a form and no script, large enough to
// tap on a phone.
var preferencesPage = template.Must(template.New("preferences").Parse(`<!doctype html>
<html lang="ko"><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>수신 설정 · Your preferences</title>
<style>
body{font-family:sans-serif;max-width:32em;margin:2em auto;padding:0 1em;line-height:1.5}
label{display:flex;gap:.75em;align-items:center;padding:.75em 0;font-size:1.1em;border-bottom:1px solid #ddd}
input{width:1.5em;height:1.5em;flex:none}
button{font-size:1.2em;padding:.6em 1.2em;margin-top:1em}
.saved{background:#e8f5e9;padding:.75em}
</style>
<body>
{{- if eq .State "form"}}
<h1>수신 설정 <span lang="en">· Your preferences</span></h1>
{{- if .Saved}}
<p class="saved" role="status">저장되었습니다. ({{.At}}) <span lang="en">Your choices are saved.</span></p>
{{- end}}
<p>체크된 항목의 광고성 정보를 보내드립니다. 체크를 해제하고 저장하시면 더 이상 보내드리지 않습니다.</p>
<p lang="en">We send you advertising only where a box is ticked. Untick a box and save to stop it.</p>
<form method="post">
{{- range .Channels}}
<label><input type="checkbox" name="{{.Name}}" value="on"{{if .On}} checked{{end}}><span>{{.KO}}<br><small lang="en">{{.EN}}</small></span></label>
{{- end}}
<button name="save" value="1">저장 · Save</button>
</form>
<p><small>주문, 예약 등 거래 관련 안내는 이 설정과 관계없이 보내드립니다. <span lang="en">Messages about your orders and bookings are sent whatever you choose here.</span></small></p>
{{- else if eq .State "gone"}}
<h1>저장된 정보가 없습니다</h1>
<p>고객님의 정보가 삭제되어 더 이상 아무것도 보내드리지 않습니다.</p>
<p lang="en">We hold no data about you any more and send you nothing.</p>
{{- end}}
</body></html>`))

// prefChannel is one switch on the page.
type prefChannel struct {
	Name    string // the consent channel and form field
	KO, EN  string
	On      bool
	address bool // the customer can be reached this way at all
}

type preferencesView struct {
	State    string // form, gone
	Saved    bool
	At       string
	Channels []prefChannel
}

// offeredChannels are the switches the customer gets: the channels dangol
// has an address for, and the night-time consent when there is one.
func offeredChannels(c store.Customer) []prefChannel {
	phone, email := c.Phone != nil && *c.Phone != "", c.Email != nil && *c.Email != ""
	all := []prefChannel{
		{Name: domain.ChannelSMS, KO: "문자(SMS) 광고", EN: "Advertising by text message", address: phone},
		{Name: domain.ChannelEmail, KO: "이메일 광고", EN: "Advertising by email", address: email},
		{Name: domain.ChannelCall, KO: "전화 광고", EN: "Advertising by phone call", address: phone},
		{Name: domain.ChannelNight, KO: "야간(21시~08시) 광고", EN: "Advertising at night (21:00-08:00)", address: phone || email},
	}
	var out []prefChannel
	for _, ch := range all {
		if ch.address {
			ch.On = c.Consents(ch.Name)
			out = append(out, ch)
		}
	}
	return out
}

func renderPreferences(w http.ResponseWriter, status int, v preferencesView) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// As the unsubscribe page: the token is the customer's key.
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	w.WriteHeader(status)
	_ = preferencesPage.Execute(w, v)
}

// preferencesLink is the customer's preference page for the unsubscribe
// page to link to (signed anew: the unsubscribe token opens no preference
// page); "" when no link can be made.
func (s *Server) preferencesLink(c links.Claims) string {
	if len(s.LinkSecret) < links.MinSecretLen {
		return ""
	}
	p := links.Claims{CustomerID: c.CustomerID, Channel: c.Channel, Purpose: links.PurposePreferences, Expires: time.Now().Add(links.DefaultLifetime)}
	if p.Validate() != nil {
		return ""
	}
	return strings.TrimRight(s.PublicBaseURL, "/") + "/p/" + links.Sign(s.LinkSecret, p)
}

// preferenceCustomer loads the link's customer; a customer who no longer
// exists gets the "gone" page, and false is returned when an answer was
// written.
func (s *Server) preferenceCustomer(w http.ResponseWriter, r *http.Request, id int64) (store.Customer, bool) {
	cust, err := s.Store.CustomerByID(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		renderPreferences(w, http.StatusOK, preferencesView{State: "gone"})
		return cust, false
	}
	if err != nil {
		renderError(w, r, err)
		return cust, false
	}
	return cust, true
}

func (s *Server) preferencesForm(w http.ResponseWriter, r *http.Request) {
	c, ok := s.linkClaims(w, r, links.PurposePreferences)
	if !ok {
		return
	}
	cust, ok := s.preferenceCustomer(w, r, c.CustomerID)
	if !ok {
		return
	}
	renderPreferences(w, http.StatusOK, preferencesView{State: "form", Channels: offeredChannels(cust)})
}

// preferencesSave applies the form: each channel the page offers is on
// when its box was ticked and off when not (a browser sends only ticked
// boxes). The form must carry its save button, so a POST that is not the
// page's own (a mail client's one-click body) cannot switch everything
// off.
func (s *Server) preferencesSave(w http.ResponseWriter, r *http.Request) {
	c, ok := s.linkClaims(w, r, links.PurposePreferences)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		renderError(w, r, formProblem(err))
		return
	}
	if err := checkForm(r.PostForm); err != nil {
		renderError(w, r, err)
		return
	}
	ticked := map[string]bool{}
	for name, vs := range r.PostForm {
		switch name {
		case "save":
			if len(vs) != 1 || vs[0] != "1" {
				renderError(w, r, badField("save", "must be 1"))
				return
			}
		case domain.ChannelSMS, domain.ChannelEmail, domain.ChannelCall, domain.ChannelNight:
			if len(vs) != 1 || vs[0] != "on" {
				renderError(w, r, badField(name, "must be on, or absent for off"))
				return
			}
			ticked[name] = true
		default:
			renderError(w, r, badField(name, "unknown field"))
			return
		}
	}
	if _, ok := r.PostForm["save"]; !ok {
		renderError(w, r, badField("save", "missing: post the page's own form"))
		return
	}
	cust, ok := s.preferenceCustomer(w, r, c.CustomerID)
	if !ok {
		return
	}
	want := map[string]bool{}
	for _, ch := range offeredChannels(cust) {
		want[ch.Name] = ticked[ch.Name]
	}
	now := time.Now().UTC()
	changed, before, after, err := s.Store.SetConsents(r.Context(), c.CustomerID, want, store.SourcePreferencePage, now)
	if errors.Is(err, store.ErrNotFound) {
		renderPreferences(w, http.StatusOK, preferencesView{State: "gone"})
		return
	}
	if err != nil {
		renderError(w, r, err)
		return
	}
	// As the unsubscribe link: the database gate already stops the next
	// advertising send on a switched-off channel; when nothing is left,
	// the enrolments end now.
	if changed && !before.OptedOut() && after.OptedOut() {
		s.signalCustomer(r, after.ID, workflows.SignalOptOut, nil)
	}
	loc, err := time.LoadLocation(after.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	renderPreferences(w, http.StatusOK, preferencesView{State: "form", Saved: true, At: now.In(loc).Format("2006-01-02 15:04 MST"),
		Channels: offeredChannels(after)})
}

// formProblem names what is wrong with a form body that does not parse.
func formProblem(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return decodeProblem(err)
	}
	return badField("body", "is not a valid form")
}
