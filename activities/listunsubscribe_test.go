package activities_test

import (
	"net/http"
	"net/http/httptest"
	netmail "net/mail"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	smtpmock "github.com/mocktools/go-smtp-mock/v2"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/compliance"
	"github.com/dangol/dangol/domain"
)

// A marketing mail reaches the relay with the one-click unsubscribe
// headers (RFC 2369, RFC 8058) naming the link its footer shows, also
// when an earlier attempt was refused a while before (the link is the one
// fixed at the claim, not signed anew); the link works; a service mail
// carries no such header.
func TestMarketingMailCarriesListUnsubscribe(t *testing.T) {
	r := newRig(t)
	secret := []byte("activities-test-link-secret-0123456789")
	r.acts.LinkSecret = secret
	// The links point at a real API, so the test can follow one.
	site := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(site.Close)
	site.Config.Handler = (&api.Server{Store: r.st, LinkSecret: secret, PublicBaseURL: site.URL, Logger: quiet}).Handler()
	r.acts.PublicBaseURL = site.URL
	c := r.customer("c-1", "+821055550001", "minsu@example.com")

	// First attempt: the relay refuses (451), nothing is taken.
	refusing := startRelay(t, relayRefuse4)
	r.acts.Mail = r.mailer(refusing.port)
	ad := r.request("ad", domain.ChannelEmail, c)
	ad.Purpose = compliance.PurposeMarketing
	if _, err := r.acts.SendMessage(r.ctx, ad); err == nil {
		t.Fatal("a refused mail reported sent")
	}
	first := r.message("ad")
	if first.Status != domain.MessagePending || first.UnsubscribeURL == "" || !strings.Contains(first.Body, first.UnsubscribeURL) {
		t.Fatalf("after a refusal: status %s, link %q, body %q", first.Status, first.UnsubscribeURL, first.Body)
	}
	// Links are signed to the second: a link made now would differ.
	time.Sleep(1100 * time.Millisecond)

	mock := smtpmock.New(smtpmock.ConfigurationAttr{HostAddress: "127.0.0.1", MultipleMessageReceiving: true})
	if err := mock.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mock.Stop() })
	r.acts.Mail = r.mailer(mock.PortNumber())
	if res, err := r.acts.SendMessage(r.ctx, ad); err != nil || res.Status != domain.MessageSent {
		t.Fatalf("retry: %+v %v", res, err)
	}
	if _, err := r.acts.SendMessage(r.ctx, r.request("thanks", domain.ChannelEmail, c)); err != nil {
		t.Fatal(err)
	}
	msgs, err := mock.WaitForMessages(2, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var got []*netmail.Message
	for _, m := range msgs {
		if m.Msg() {
			parsed, err := netmail.ReadMessage(strings.NewReader(m.MsgRequest()))
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, parsed)
		}
	}
	if len(got) != 2 {
		t.Fatalf("relay took %d mails, want 2", len(got))
	}
	adMail, serviceMail := got[0], got[1]
	if adMail.Header.Get("Message-ID") != "<msg-"+strconv.FormatInt(first.ID, 10)+"@dangol>" {
		adMail, serviceMail = serviceMail, adMail
	}
	link := first.UnsubscribeURL
	if h := adMail.Header.Get("List-Unsubscribe"); h != "<"+link+">" {
		t.Errorf("List-Unsubscribe = %q, want <%s> (the link fixed at the claim)", h, link)
	}
	if h := adMail.Header.Get("List-Unsubscribe-Post"); h != "List-Unsubscribe=One-Click" {
		t.Errorf("List-Unsubscribe-Post = %q", h)
	}
	if m := r.message("ad"); m.UnsubscribeURL != link || !strings.Contains(m.Body, link) || !strings.Contains(m.Body, site.URL+"/p/") {
		t.Errorf("stored link %q, body %q: want the same link, and the preference page in the footer", m.UnsubscribeURL, m.Body)
	}
	for _, h := range []string{"List-Unsubscribe", "List-Unsubscribe-Post"} {
		if v, ok := serviceMail.Header[h]; ok {
			t.Errorf("service mail carries %s: %q", h, v)
		}
	}
	if m := r.message("thanks"); m.UnsubscribeURL != "" {
		t.Errorf("service mail stored link %q", m.UnsubscribeURL)
	}

	// What a mail client does with the header: POST the body RFC 8058
	// prescribes. Mail consent is withdrawn.
	resp, err := http.PostForm(link, url.Values{"List-Unsubscribe": {"One-Click"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("one-click POST: %d", resp.StatusCode)
	}
	after, err := r.st.CustomerByID(r.ctx, c)
	if err != nil || after.Consents(domain.ChannelEmail) || !after.Consents(domain.ChannelSMS) {
		t.Fatalf("after one-click: %+v %v; want mail withdrawn, SMS kept", after.Consent, err)
	}
}
