// Package mail delivers retention e-mails through an SMTP relay.
//
// The package's main job beyond talking SMTP is to sort failures into two
// kinds, because that decides whether the engine retries: a PermanentError
// means the relay (or our own validation) refused this mail for good, and any
// other error is worth retrying later.
package mail

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"net/textproto"
	"net/url"
	"regexp"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Message is one mail to send.
type Message struct {
	To       string
	Subject  string
	TextBody string
	// HTMLBody is optional; when set it is sent as an alternative to
	// TextBody so clients without HTML support still get readable text.
	HTMLBody string
	// MessageID is a stable id derived from our idempotency key, e.g.
	// "<msg-123@dangol>". Keeping it stable across retries lets receivers
	// dedupe a resend after we lost the relay's reply. The angle brackets
	// are optional.
	MessageID string
	// UnsubscribeURL, when set (advertising), is the customer's one-click
	// unsubscribe link: the mail carries "List-Unsubscribe: <URL>" and
	// "List-Unsubscribe-Post: List-Unsubscribe=One-Click" (RFC 2369,
	// RFC 8058), so mail clients offer their own unsubscribe button and
	// POST to it. It must be an absolute http(s) URL of printable ASCII
	// (RFC 8058 wants https; mailbox providers ignore the rest).
	UnsubscribeURL string
	// BeforeEndOfData, when set, is called once the relay has taken the
	// envelope and the whole message text, right before the end-of-data
	// marker that asks it to deliver: the one step after which it may have
	// taken the mail. If it returns an error, the marker is not sent (the
	// connection is closed), so nothing is delivered.
	BeforeEndOfData func() error
	// Attachments go after the body as parts of a multipart/mixed mail
	// (RFC 2046), each base64-encoded with its name in
	// Content-Disposition (RFC 2183).
	Attachments []Attachment
}

// Attachment is a file sent with a Message.
type Attachment struct {
	// Name is the file name the recipient sees: printable ASCII without
	// quotes, backslashes or path separators, at most MaxAttachmentName
	// bytes, since it is written into a header verbatim.
	Name string
	// ContentType is a MIME type such as "text/csv; charset=utf-8".
	ContentType string
	Data        []byte
}

// Bounds of what a Message may carry besides its text.
const (
	MaxAttachments     = 10
	MaxAttachmentName  = 100
	MaxAttachmentBytes = 10 << 20
)

// UnknownOutcomeError means the end-of-data marker was sent and no answer
// came back (connection lost, timeout, cancellation): the relay may or
// may not have taken the mail, and SMTP offers no way to ask. Sending it
// again may deliver it twice.
type UnknownOutcomeError struct {
	Err error
}

func (e *UnknownOutcomeError) Error() string {
	return "mail outcome unknown (no answer to the end of data): " + e.Err.Error()
}

func (e *UnknownOutcomeError) Unwrap() error { return e.Err }

// PermanentError marks a mail the relay refused for good (5xx on RCPT/DATA,
// invalid address): callers record it and do not retry.
type PermanentError struct {
	// Code is the SMTP reply code, or 0 when we rejected the mail ourselves
	// before talking to the relay.
	Code int
	Err  error
}

func (e *PermanentError) Error() string {
	if e.Code == 0 {
		return "mail permanently rejected: " + e.Err.Error()
	}
	return fmt.Sprintf("mail permanently rejected (smtp %d): %v", e.Code, e.Err)
}

func (e *PermanentError) Unwrap() error { return e.Err }

// Sender delivers one Message. A *PermanentError means the mail was
// refused for good, an *UnknownOutcomeError that it may have been taken;
// any other error means it was not taken and may be sent again.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// TLS modes accepted in SMTPConfig.TLS.
const (
	TLSNone     = "none"
	TLSStartTLS = "starttls"
	TLSImplicit = "tls"
)

// SMTPConfig configures the relay connection.
type SMTPConfig struct {
	Host string
	// Port defaults to the conventional port for the TLS mode (25, 587, 465).
	Port     int
	Username string
	Password string
	// From may carry a display name, e.g. "Dangol <news@dangol.kr>".
	From string
	// TLS is "none", "starttls" or "tls"; empty means "starttls" so that a
	// forgotten setting fails closed instead of sending credentials and
	// customer data in clear text.
	TLS string
	// HeloName must be a domain: relays (and RFC 5321) reject bare host
	// names such as a container id, which is what os.Hostname would give.
	// Empty means the domain of From.
	HeloName string
	// Timeout bounds the dial and each SMTP command; zero means go-mail's
	// default.
	Timeout time.Duration
}

// SMTP sends mail through an SMTP relay. It is safe for concurrent use: each
// Send opens its own connection.
type SMTP struct {
	client *gomail.Client
	from   *netmail.Address
}

var _ Sender = (*SMTP)(nil)

// NewSMTP validates cfg and builds an SMTP sender. It does not connect, so a
// relay that is down at startup does not stop the engine from booting.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	if cfg.Host == "" {
		return nil, errors.New("mail: smtp host is required")
	}
	from, err := netmail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("mail: invalid from address %q: %w", cfg.From, err)
	}

	helo := cfg.HeloName
	if helo == "" {
		helo = from.Address[strings.LastIndexByte(from.Address, '@')+1:]
	}
	if !isDomain(helo) {
		return nil, fmt.Errorf("mail: helo name %q is not a domain", helo)
	}

	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("mail: negative timeout %s", cfg.Timeout)
	}

	opts := []gomail.Option{gomail.WithHELO(helo)}
	defaultPort := 0
	implicitTLS := false
	switch cfg.TLS {
	case TLSNone:
		defaultPort = 25
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	case TLSStartTLS, "":
		defaultPort = 587
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case TLSImplicit:
		defaultPort = 465
		implicitTLS = true
		opts = append(opts, gomail.WithSSL())
	default:
		return nil, fmt.Errorf("mail: unknown tls mode %q (want none, starttls or tls)", cfg.TLS)
	}
	port := cfg.Port
	if port == 0 {
		port = defaultPort
	}
	opts = append(opts, gomail.WithPort(port))
	if cfg.Timeout > 0 {
		opts = append(opts, gomail.WithTimeout(cfg.Timeout))
	}
	// Relays used without credentials (local MTAs, test servers) often do not
	// advertise AUTH at all, and go-mail fails the dial if asked to
	// authenticate there.
	if cfg.Username != "" {
		opts = append(opts,
			gomail.WithSMTPAuth(gomail.SMTPAuthPlain),
			gomail.WithUsername(cfg.Username),
			gomail.WithPassword(cfg.Password),
		)
	}

	opts = append(opts, gomail.WithDialContextFunc(dialer(cfg.Host, implicitTLS)))
	client, err := gomail.NewClient(cfg.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("mail: smtp client: %w", err)
	}
	return &SMTP{client: client, from: from}, nil
}

// connKey carries a *net.Conn slot from Send to dialer through the dial
// context, so Send can close its own connection.
type connKey struct{}

// dialer dials like go-mail does (a given dial function replaces go-mail's
// own, implicit TLS included) and hands the connection to Send: go-mail
// holds a lock while it waits for a reply, so closing the connection
// itself is the only way to stop a relay that does not answer.
func dialer(host string, implicitTLS bool) gomail.DialContextFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var conn net.Conn
		var err error
		if implicitTLS {
			d := tls.Dialer{Config: &tls.Config{ServerName: host, MinVersion: gomail.DefaultTLSMinVersion}}
			conn, err = d.DialContext(ctx, network, addr)
		} else {
			var d net.Dialer
			conn, err = d.DialContext(ctx, network, addr)
		}
		if slot, ok := ctx.Value(connKey{}).(*net.Conn); ok && err == nil {
			*slot = conn
		}
		return conn, err
	}
}

// Send delivers m over a connection of its own. Problems that no retry
// can fix (malformed recipient, unusable MessageID, 5xx from the relay on
// RCPT, DATA or the end of data) come back as *PermanentError; a lost
// answer to the end of data as *UnknownOutcomeError; everything else is
// transient, and the relay did not take the mail.
//
// go-mail's own send sends the end of data and then RSET, and fails the
// send if RSET fails, so a delivered mail would be retried; the session is
// driven step by step here instead, with go-mail's dialing, TLS and AUTH.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	msg, to, err := s.build(m)
	if err != nil {
		return &PermanentError{Err: err}
	}
	var conn net.Conn
	c, err := s.client.DialToSMTPClientWithContext(context.WithValue(ctx, connKey{}, &conn))
	if err != nil {
		if conn != nil {
			conn.Close()
		}
		return fmt.Errorf("mail: dial failed: %w", err)
	}
	defer conn.Close()
	// go-mail watches ctx only while dialing; closing the connection when
	// ctx ends makes a stuck relay fail the command in progress.
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()

	if err := c.Mail("<" + s.from.Address + ">"); err != nil {
		return classify("MAIL FROM", err)
	}
	if err := c.Rcpt("<" + to + ">"); err != nil {
		return classify("RCPT TO", err)
	}
	w, err := c.Data()
	if err != nil {
		return classify("DATA", err)
	}
	// Until the end-of-data marker, a relay that loses the connection
	// drops the transaction (RFC 5321, 4.1.1.4): a failure here means not
	// taken.
	if _, err := msg.WriteTo(w); err != nil {
		return fmt.Errorf("mail: writing the message: %w", err)
	}
	if m.BeforeEndOfData != nil {
		if err := m.BeforeEndOfData(); err != nil {
			return fmt.Errorf("mail: not sent: %w", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mail: not sent: %w", err)
	}
	if err := w.Close(); err != nil {
		var reply *textproto.Error
		if errors.As(err, &reply) {
			// The relay answered, and refused.
			return classify("end of data", err)
		}
		return &UnknownOutcomeError{Err: err}
	}
	// Taken. What QUIT answers no longer matters.
	_ = c.Quit()
	return nil
}

// build turns m into a go-mail message, rejecting input that would either
// never be accepted or would let data inject headers.
func (s *SMTP) build(m Message) (*gomail.Msg, string, error) {
	// ParseAddress rejects lists, so one Message can never fan out to
	// several recipients who would then see each other's addresses.
	to, err := netmail.ParseAddress(m.To)
	if err != nil {
		return nil, "", fmt.Errorf("invalid recipient %q: %w", m.To, err)
	}
	id, err := messageID(m.MessageID)
	if err != nil {
		return nil, "", err
	}

	// The default User-Agent advertises the library version to every
	// recipient; nothing needs it.
	msg := gomail.NewMsg(gomail.WithCharset(gomail.CharsetUTF8), gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(s.from)
	msg.ToMailAddress(to)
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(id)
	if m.UnsubscribeURL != "" {
		u, err := unsubscribeURL(m.UnsubscribeURL)
		if err != nil {
			return nil, "", err
		}
		msg.SetGenHeader(gomail.HeaderListUnsubscribe, "<"+u+">")
		msg.SetGenHeader(gomail.HeaderListUnsubscribePost, "List-Unsubscribe=One-Click")
	}
	msg.SetDate()
	msg.SetBodyString(gomail.TypeTextPlain, m.TextBody)
	if m.HTMLBody != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTMLBody)
	}
	if len(m.Attachments) > MaxAttachments {
		return nil, "", fmt.Errorf("%d attachments: at most %d", len(m.Attachments), MaxAttachments)
	}
	for _, a := range m.Attachments {
		if err := checkAttachment(a); err != nil {
			return nil, "", err
		}
		// base64 rather than go-mail's default for text types
		// (quoted-printable): a CSV's bytes come back exactly, CRLFs
		// included, whatever the relays on the way do to line ends.
		msg.AttachReadSeeker(a.Name, bytes.NewReader(a.Data),
			gomail.WithFileContentType(gomail.ContentType(a.ContentType)), gomail.WithFileEncoding(gomail.EncodingB64))
	}
	return msg, to.Address, nil
}

// contentTypePattern is a MIME type with optional parameters of tokens
// (RFC 2045 5.1, without quoted strings): nothing that could end the
// header or start another.
var contentTypePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*(; ?[a-z0-9!#$&^_.+-]+=[a-z0-9!#$&^_.+-]+)*$`)

// checkAttachment refuses an attachment whose name or type would break
// or inject headers, or whose size no relay takes.
func checkAttachment(a Attachment) error {
	if a.Name == "" || len(a.Name) > MaxAttachmentName {
		return fmt.Errorf("attachment name %q: want 1 to %d bytes", a.Name, MaxAttachmentName)
	}
	for _, r := range a.Name {
		if r < ' ' || r >= 0x7f || strings.ContainsRune(`"\/`, r) {
			return fmt.Errorf("attachment name %q: bad character %q", a.Name, r)
		}
	}
	if !contentTypePattern.MatchString(strings.ToLower(a.ContentType)) {
		return fmt.Errorf("attachment %q: content type %q is not a MIME type", a.Name, a.ContentType)
	}
	if len(a.Data) > MaxAttachmentBytes {
		return fmt.Errorf("attachment %q: %d bytes, at most %d", a.Name, len(a.Data), MaxAttachmentBytes)
	}
	return nil
}

// messageID returns the id without angle brackets (go-mail adds them). It is
// strict because the value is written into the header verbatim: whitespace or
// CR/LF would corrupt or inject headers.
func messageID(raw string) (string, error) {
	id := strings.TrimSuffix(strings.TrimPrefix(raw, "<"), ">")
	left, right, ok := strings.Cut(id, "@")
	if !ok || left == "" || right == "" {
		return "", fmt.Errorf("invalid message id %q: want <left@right>", raw)
	}
	for _, r := range id {
		if r <= ' ' || r >= 0x7f || r == '<' || r == '>' {
			return "", fmt.Errorf("invalid message id %q: bad character %q", raw, r)
		}
	}
	return id, nil
}

// unsubscribeURL checks the link that goes into List-Unsubscribe. It is
// written into a header between angle brackets, so whitespace, CR/LF, '<'
// or '>' would break or inject headers; a relative or non-web link would
// give mail clients a button that does nothing.
func unsubscribeURL(raw string) (string, error) {
	if len(raw) > 2000 {
		return "", fmt.Errorf("invalid unsubscribe url: longer than 2000 bytes")
	}
	for _, r := range raw {
		if r <= ' ' || r >= 0x7f || r == '<' || r == '>' || r == '"' {
			return "", fmt.Errorf("invalid unsubscribe url %q: bad character %q", raw, r)
		}
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("invalid unsubscribe url %q: want an absolute http(s) url", raw)
	}
	return raw, nil
}

// classify maps a relay's refusal to our retry semantics. Only replies
// that judge this particular mail count as permanent: a 5xx to RCPT
// (mailbox unknown), to DATA or to the end of data (content or size
// refused). A 5xx to MAIL FROM is about our sender or configuration and
// would hit every mail alike, so it stays transient rather than
// permanently failing a whole campaign; so does anything that is not a
// reply (a lost connection before the end of data).
func classify(step string, err error) error {
	var reply *textproto.Error
	if errors.As(err, &reply) && reply.Code >= 500 && reply.Code < 600 && step != "MAIL FROM" {
		return &PermanentError{Code: reply.Code, Err: fmt.Errorf("%s: %w", step, err)}
	}
	return fmt.Errorf("mail: %s: %w", step, err)
}

// isDomain reports whether s is a syntactically valid, dotted DNS name.
// "localhost" is accepted too because local relays and test servers know it.
func isDomain(s string) bool {
	if s == "localhost" {
		return true
	}
	if len(s) > 253 || !strings.Contains(s, ".") {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range []byte(label) {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
