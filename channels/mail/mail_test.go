package mail

import (
	"bufio"
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"strings"
	"testing"
	"time"

	smtpmock "github.com/mocktools/go-smtp-mock/v2"
)

const (
	testFrom = "Dangol <news@dangol.example>"
	testHelo = "dangol.localhost"
)

// startMock runs a real SMTP server in-process. MultipleMessageReceiving is
// required because go-mail sends RSET after DATA, which would otherwise wipe
// the recorded message.
func startMock(t *testing.T, attr smtpmock.ConfigurationAttr) *smtpmock.Server {
	t.Helper()
	attr.HostAddress = "127.0.0.1"
	attr.MultipleMessageReceiving = true
	attr.LogToStdout = false
	attr.LogServerActivity = false
	srv := smtpmock.New(attr)
	if err := srv.Start(); err != nil {
		t.Fatalf("start smtp mock: %v", err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	return srv
}

func newTestSMTP(t *testing.T, port int) *SMTP {
	t.Helper()
	s, err := NewSMTP(SMTPConfig{
		Host:     "127.0.0.1",
		Port:     port,
		From:     testFrom,
		TLS:      TLSNone,
		HeloName: testHelo,
		Timeout:  5 * time.Second,
	})
	if err != nil {
		t.Fatalf("NewSMTP: %v", err)
	}
	return s
}

// receivedData returns the DATA payloads the mock accepted, waiting for the
// session to end because the mock records messages only then.
func receivedData(t *testing.T, srv *smtpmock.Server, want int) []smtpmock.Message {
	t.Helper()
	msgs, err := srv.WaitForMessages(want, 5*time.Second)
	if err != nil {
		t.Fatalf("mock: %v", err)
	}
	var out []smtpmock.Message
	for _, m := range msgs {
		if m.Msg() {
			out = append(out, m)
		}
	}
	return out
}

func TestSendKorean(t *testing.T) {
	const (
		subject = "[단골] 김민수님, 잊지 않으셨죠? 쿠폰이 곧 만료됩니다 🎁"
		text    = "안녕하세요 김민수님,\n지난번 주문하신 아메리카노 쿠폰이 3일 뒤 만료됩니다.\n감사합니다 — 단골 드림"
		html    = "<p>안녕하세요 <b>김민수</b>님, 쿠폰이 곧 만료됩니다.</p>"
	)
	tests := []struct {
		name string
		html string
	}{
		{"text only", ""},
		{"text and html", html},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := startMock(t, smtpmock.ConfigurationAttr{})
			s := newTestSMTP(t, srv.PortNumber())

			err := s.Send(context.Background(), Message{
				To:        "minsu.kim@example.com",
				Subject:   subject,
				TextBody:  text,
				HTMLBody:  tc.html,
				MessageID: "<msg-123@dangol>",
			})
			if err != nil {
				t.Fatalf("Send: %v", err)
			}

			got := receivedData(t, srv, 1)
			if len(got) != 1 {
				t.Fatalf("mock accepted %d messages, want 1", len(got))
			}
			rm := got[0]
			if want := "EHLO " + testHelo; rm.HeloRequest() != want {
				t.Errorf("helo = %q, want %q", rm.HeloRequest(), want)
			}
			if !strings.Contains(rm.MailfromRequest(), "<news@dangol.example>") {
				t.Errorf("MAIL FROM = %q, want envelope sender news@dangol.example", rm.MailfromRequest())
			}
			rcpts := rm.RcpttoRequestResponse()
			if len(rcpts) != 1 || rcpts[0][0] != "RCPT TO:<minsu.kim@example.com>" {
				t.Errorf("RCPT TO = %q, want exactly RCPT TO:<minsu.kim@example.com>", rcpts)
			}

			parsed, err := netmail.ReadMessage(strings.NewReader(rm.MsgRequest()))
			if err != nil {
				t.Fatalf("parse received message: %v\n%s", err, rm.MsgRequest())
			}
			h := parsed.Header
			if got := h.Get("Message-ID"); got != "<msg-123@dangol>" {
				t.Errorf("Message-ID = %q, want <msg-123@dangol>", got)
			}
			if d, err := h.Date(); err != nil || time.Since(d) > time.Minute || time.Until(d) > time.Minute {
				t.Errorf("Date = %q (%v), want a current RFC 5322 date", h.Get("Date"), err)
			}
			var dec mime.WordDecoder
			if got, err := dec.DecodeHeader(h.Get("Subject")); err != nil || got != subject {
				t.Errorf("Subject = %q (%v), want %q", got, err, subject)
			}
			if to, err := h.AddressList("To"); err != nil || len(to) != 1 || to[0].Address != "minsu.kim@example.com" {
				t.Errorf("To header = %q (%v)", h.Get("To"), err)
			}
			if from, err := h.AddressList("From"); err != nil || len(from) != 1 || from[0].Address != "news@dangol.example" || from[0].Name != "Dangol" {
				t.Errorf("From header = %q (%v)", h.Get("From"), err)
			}

			parts := bodyParts(t, h.Get("Content-Type"), h.Get("Content-Transfer-Encoding"), parsed.Body)
			if got := parts["text/plain"]; normalizeNL(got) != text {
				t.Errorf("text/plain body = %q, want %q", got, text)
			}
			if tc.html == "" {
				if len(parts) != 1 {
					t.Errorf("got parts %v, want only text/plain", keys(parts))
				}
			} else if got := parts["text/html"]; normalizeNL(got) != tc.html {
				t.Errorf("text/html body = %q, want %q", got, tc.html)
			}
		})
	}
}

// bodyParts decodes a text/plain or multipart/alternative body into
// media type -> decoded UTF-8 text, failing on any non-UTF-8 charset.
func bodyParts(t *testing.T, contentType, cte string, body io.Reader) map[string]string {
	t.Helper()
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		t.Fatalf("Content-Type %q: %v", contentType, err)
	}
	out := map[string]string{}
	if !strings.HasPrefix(mt, "multipart/") {
		out[mt] = decodePart(t, mt, params, cte, body)
		return out
	}
	if mt != "multipart/alternative" {
		t.Fatalf("Content-Type = %q, want multipart/alternative", mt)
	}
	mr := multipart.NewReader(body, params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("multipart: %v", err)
		}
		pmt, pparams, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if err != nil {
			t.Fatalf("part Content-Type %q: %v", p.Header.Get("Content-Type"), err)
		}
		out[pmt] = decodePart(t, pmt, pparams, p.Header.Get("Content-Transfer-Encoding"), p)
	}
}

func decodePart(t *testing.T, mt string, params map[string]string, cte string, r io.Reader) string {
	t.Helper()
	if cs := params["charset"]; !strings.EqualFold(cs, "utf-8") {
		t.Errorf("%s charset = %q, want UTF-8", mt, cs)
	}
	switch strings.ToLower(cte) {
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "", "7bit", "8bit":
	default:
		t.Fatalf("%s: unexpected Content-Transfer-Encoding %q", mt, cte)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s: decode body: %v", mt, err)
	}
	return string(b)
}

func normalizeNL(s string) string {
	return strings.TrimRight(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// An advertising mail carries the one-click unsubscribe headers of RFC
// 2369 and RFC 8058, as the relay received them; a mail without a link
// carries neither.
func TestSendListUnsubscribe(t *testing.T) {
	srv := startMock(t, smtpmock.ConfigurationAttr{})
	s := newTestSMTP(t, srv.PortNumber())
	link := "https://dangol.example/u/AQAAAAAAAAAqAgEAAAAAa3wjQDDWKW5Nl7GMWVbMJ8Y8Ubw-" + strings.Repeat("x", 60)
	for _, m := range []Message{
		{To: "a@example.com", Subject: "(광고) 세일", TextBody: "본문", MessageID: "<msg-1@dangol>", UnsubscribeURL: link},
		{To: "a@example.com", Subject: "감사합니다", TextBody: "본문", MessageID: "<msg-2@dangol>"},
	} {
		if err := s.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	got := receivedData(t, srv, 2)
	if len(got) != 2 {
		t.Fatalf("relay received %d mails", len(got))
	}
	for i, rm := range got {
		parsed, err := netmail.ReadMessage(strings.NewReader(rm.MsgRequest()))
		if err != nil {
			t.Fatal(err)
		}
		h := parsed.Header
		if i == 0 {
			if lu := h.Get("List-Unsubscribe"); lu != "<"+link+">" {
				t.Errorf("List-Unsubscribe = %q, want <%s>", lu, link)
			}
			if p := h.Get("List-Unsubscribe-Post"); p != "List-Unsubscribe=One-Click" {
				t.Errorf("List-Unsubscribe-Post = %q", p)
			}
			if id := h.Get("Message-ID"); id != "<msg-1@dangol>" {
				t.Errorf("Message-ID = %q", id)
			}
			continue
		}
		if _, ok := h["List-Unsubscribe"]; ok {
			t.Errorf("a mail without a link carries List-Unsubscribe %q", h.Get("List-Unsubscribe"))
		}
		if _, ok := h["List-Unsubscribe-Post"]; ok {
			t.Error("a mail without a link carries List-Unsubscribe-Post")
		}
	}
}

func TestSendRecipientRejected(t *testing.T) {
	tests := []struct {
		name          string
		attr          smtpmock.ConfigurationAttr
		wantPermanent bool
		wantCode      int
	}{
		{
			name:          "550 user unknown",
			attr:          smtpmock.ConfigurationAttr{NotRegisteredEmails: []string{"gone@example.com"}},
			wantPermanent: true,
			wantCode:      550,
		},
		{
			name: "553 mailbox name not allowed",
			attr: smtpmock.ConfigurationAttr{
				BlacklistedRcpttoEmails:   []string{"gone@example.com"},
				MsgRcpttoBlacklistedEmail: "553 5.1.3 mailbox name not allowed",
			},
			wantPermanent: true,
			wantCode:      553,
		},
		{
			// The mock's default blacklist reply is "421 Service not
			// available": a greylisting-style refusal that must be retried.
			name:          "421 try later",
			attr:          smtpmock.ConfigurationAttr{BlacklistedRcpttoEmails: []string{"gone@example.com"}},
			wantPermanent: false,
		},
		{
			name: "450 mailbox busy",
			attr: smtpmock.ConfigurationAttr{
				NotRegisteredEmails:         []string{"gone@example.com"},
				MsgRcpttoNotRegisteredEmail: "450 4.2.1 mailbox busy",
			},
			wantPermanent: false,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := startMock(t, tc.attr)
			s := newTestSMTP(t, srv.PortNumber())

			err := s.Send(context.Background(), Message{
				To: "gone@example.com", Subject: "제목", TextBody: "본문", MessageID: "<msg-9@dangol>",
			})
			if err == nil {
				t.Fatal("Send succeeded, want an error")
			}
			var pe *PermanentError
			if got := errors.As(err, &pe); got != tc.wantPermanent {
				t.Fatalf("permanent = %v, want %v (err: %v)", got, tc.wantPermanent, err)
			}
			if tc.wantPermanent && pe.Code != tc.wantCode {
				t.Errorf("Code = %d, want %d (err: %v)", pe.Code, tc.wantCode, err)
			}
			if n := len(receivedData(t, srv, 1)); n != 0 {
				t.Errorf("mock accepted %d messages after RCPT refusal, want 0", n)
			}
		})
	}
}

func TestSendDataRejectedIsPermanent(t *testing.T) {
	// A message over the relay's size limit is refused with 552 after the
	// DATA payload, so this covers the end-of-data reply path.
	srv := startMock(t, smtpmock.ConfigurationAttr{MsgSizeLimit: 64})
	s := newTestSMTP(t, srv.PortNumber())

	err := s.Send(context.Background(), Message{
		To: "minsu.kim@example.com", Subject: "큰 메일", TextBody: strings.Repeat("가", 200), MessageID: "<msg-big@dangol>",
	})
	var pe *PermanentError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v, want *PermanentError", err)
	}
	if pe.Code != 552 {
		t.Errorf("Code = %d, want 552 (err: %v)", pe.Code, err)
	}
}

func TestSendInvalidMessageRejectedBeforeDialing(t *testing.T) {
	tests := []struct {
		name string
		msg  Message
	}{
		{"not an address", Message{To: "not-an-address", MessageID: "<a@b>"}},
		{"empty recipient", Message{To: "", MessageID: "<a@b>"}},
		{"recipient list", Message{To: "a@example.com, b@example.com", MessageID: "<a@b>"}},
		{"header injection in recipient", Message{To: "a@example.com\r\nBcc: spy@evil.example", MessageID: "<a@b>"}},
		{"missing message id", Message{To: "a@example.com"}},
		{"message id without domain", Message{To: "a@example.com", MessageID: "<msg-1>"}},
		{"header injection in message id", Message{To: "a@example.com", MessageID: "<a@b>\r\nBcc: spy@evil.example"}},
		{"header injection in unsubscribe url", Message{To: "a@example.com", MessageID: "<a@b>", UnsubscribeURL: "https://x.example/u/t>\r\nBcc: spy@evil.example"}},
		{"relative unsubscribe url", Message{To: "a@example.com", MessageID: "<a@b>", UnsubscribeURL: "/u/token"}},
		{"mailto unsubscribe url", Message{To: "a@example.com", MessageID: "<a@b>", UnsubscribeURL: "mailto:x@example.com"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			// If Send dialed, go-mail would wait for a greeting nobody sends;
			// a short Timeout keeps that failure mode quick.
			s, err := NewSMTP(SMTPConfig{
				Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, From: testFrom,
				TLS: TLSNone, HeloName: testHelo, Timeout: 500 * time.Millisecond,
			})
			if err != nil {
				t.Fatal(err)
			}
			err = s.Send(context.Background(), tc.msg)
			var pe *PermanentError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want *PermanentError", err)
			}
			if pe.Code != 0 {
				t.Errorf("Code = %d, want 0 for a locally rejected mail", pe.Code)
			}
			if dialed := connectedBefore(t, ln); dialed {
				t.Error("Send opened a connection for a mail it should have rejected up front")
			}
		})
	}
}

// connectedBefore reports whether anything connected to ln before this call.
// It dials a marker connection and checks whether it is the first one the
// listener accepts; the kernel's accept queue is FIFO, so this needs no sleep.
func connectedBefore(t *testing.T, ln net.Listener) bool {
	t.Helper()
	marker, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer marker.Close()
	if _, err := marker.Write([]byte("M")); err != nil {
		t.Fatal(err)
	}
	_ = ln.(*net.TCPListener).SetDeadline(time.Now().Add(5 * time.Second))
	first, err := ln.Accept()
	if err != nil {
		t.Fatalf("accept: %v", err)
	}
	defer first.Close()
	_ = first.SetReadDeadline(time.Now().Add(time.Second))
	b, err := bufio.NewReader(first).ReadByte()
	return err != nil || b != 'M'
}

func TestSendConnectionRefusedIsTransient(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()

	s := newTestSMTP(t, port)
	err = s.Send(context.Background(), Message{To: "a@example.com", Subject: "s", TextBody: "b", MessageID: "<a@b>"})
	if err == nil {
		t.Fatal("Send succeeded against a closed port")
	}
	var pe *PermanentError
	if errors.As(err, &pe) {
		t.Fatalf("err = %v is permanent, want transient", err)
	}
	if !strings.Contains(err.Error(), "refused") {
		t.Errorf("err = %v, want a connection refused error", err)
	}
}

func TestSendConcurrentReusesSender(t *testing.T) {
	srv := startMock(t, smtpmock.ConfigurationAttr{})
	s := newTestSMTP(t, srv.PortNumber())

	const n = 5
	errs := make(chan error, n)
	for i := range n {
		go func() {
			errs <- s.Send(context.Background(), Message{
				To: "a@example.com", Subject: "동시", TextBody: "본문", MessageID: "<c-" + string(rune('0'+i)) + "@dangol>",
			})
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Errorf("Send: %v", err)
		}
	}
	got := receivedData(t, srv, n)
	ids := map[string]bool{}
	for _, m := range got {
		parsed, err := netmail.ReadMessage(strings.NewReader(m.MsgRequest()))
		if err != nil {
			t.Fatal(err)
		}
		ids[parsed.Header.Get("Message-ID")] = true
	}
	if len(ids) != n {
		t.Errorf("received distinct Message-IDs %v, want %d", ids, n)
	}
}

func TestNewSMTPValidation(t *testing.T) {
	valid := SMTPConfig{Host: "smtp.example.com", From: testFrom, TLS: TLSStartTLS, HeloName: testHelo}
	tests := []struct {
		name    string
		mutate  func(*SMTPConfig)
		wantErr bool
	}{
		{"valid", func(*SMTPConfig) {}, false},
		{"valid implicit tls with auth", func(c *SMTPConfig) { c.TLS = TLSImplicit; c.Username = "u"; c.Password = "p" }, false},
		{"empty tls defaults to starttls", func(c *SMTPConfig) { c.TLS = "" }, false},
		{"helo defaults to from domain", func(c *SMTPConfig) { c.HeloName = "" }, false},
		{"missing host", func(c *SMTPConfig) { c.Host = "" }, true},
		{"bad from", func(c *SMTPConfig) { c.From = "dangol" }, true},
		{"empty from", func(c *SMTPConfig) { c.From = "" }, true},
		{"unknown tls", func(c *SMTPConfig) { c.TLS = "ssl" }, true},
		{"helo not a domain", func(c *SMTPConfig) { c.HeloName = "a1b2c3d4e5f6" }, true},
		{"helo with space", func(c *SMTPConfig) { c.HeloName = "dangol .example" }, true},
		{"helo with bad label", func(c *SMTPConfig) { c.HeloName = "-dangol.example" }, true},
		{"bad port", func(c *SMTPConfig) { c.Port = 70000 }, true},
		{"negative timeout", func(c *SMTPConfig) { c.Timeout = -time.Second }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := valid
			tc.mutate(&cfg)
			s, err := NewSMTP(cfg)
			if (err != nil) != tc.wantErr {
				t.Fatalf("NewSMTP err = %v, wantErr %v", err, tc.wantErr)
			}
			if err == nil && s == nil {
				t.Fatal("NewSMTP returned nil sender without error")
			}
		})
	}
}

func TestNewSMTPDefaults(t *testing.T) {
	tests := []struct {
		tls      string
		wantAddr string
		wantPol  string
	}{
		{TLSNone, "smtp.example.com:25", "NoTLS"},
		{TLSStartTLS, "smtp.example.com:587", "TLSMandatory"},
		{"", "smtp.example.com:587", "TLSMandatory"},
		{TLSImplicit, "smtp.example.com:465", ""},
	}
	for _, tc := range tests {
		s, err := NewSMTP(SMTPConfig{Host: "smtp.example.com", From: testFrom, TLS: tc.tls})
		if err != nil {
			t.Fatalf("tls %q: %v", tc.tls, err)
		}
		if got := s.client.ServerAddr(); got != tc.wantAddr {
			t.Errorf("tls %q: addr = %q, want %q", tc.tls, got, tc.wantAddr)
		}
		if tc.wantPol != "" && s.client.TLSPolicy() != tc.wantPol {
			t.Errorf("tls %q: policy = %q, want %q", tc.tls, s.client.TLSPolicy(), tc.wantPol)
		}
	}
}

func TestPermanentErrorUnwraps(t *testing.T) {
	cause := errors.New("550 no such user")
	err := error(&PermanentError{Code: 550, Err: cause})
	if !errors.Is(err, cause) {
		t.Error("PermanentError does not unwrap to its cause")
	}
	if !strings.Contains(err.Error(), "550") {
		t.Errorf("Error() = %q, want the SMTP code in it", err.Error())
	}
}
