// Package mail delivers retention e-mails through an SMTP relay.
//
// The package's main job beyond talking SMTP is to sort failures into two
// kinds, because that decides whether the engine retries: a PermanentError
// means the relay (or our own validation) refused this mail for good, and any
// other error is worth retrying later.
package mail

import (
	"context"
	"errors"
	"fmt"
	netmail "net/mail"
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
}

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

// Sender delivers one Message. Errors other than *PermanentError are
// transient.
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
	switch cfg.TLS {
	case TLSNone:
		defaultPort = 25
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	case TLSStartTLS, "":
		defaultPort = 587
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case TLSImplicit:
		defaultPort = 465
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

	client, err := gomail.NewClient(cfg.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("mail: smtp client: %w", err)
	}
	return &SMTP{client: client, from: from}, nil
}

// Send delivers m. Problems that no retry can fix (malformed recipient,
// unusable MessageID, 5xx from the relay on RCPT or DATA) come back as
// *PermanentError; everything else is transient.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	msg, err := s.build(m)
	if err != nil {
		return &PermanentError{Err: err}
	}
	if err := s.client.DialAndSendWithContext(ctx, msg); err != nil {
		return classify(err)
	}
	return nil
}

// build turns m into a go-mail message, rejecting input that would either
// never be accepted or would let data inject headers.
func (s *SMTP) build(m Message) (*gomail.Msg, error) {
	// ParseAddress rejects lists, so one Message can never fan out to
	// several recipients who would then see each other's addresses.
	to, err := netmail.ParseAddress(m.To)
	if err != nil {
		return nil, fmt.Errorf("invalid recipient %q: %w", m.To, err)
	}
	id, err := messageID(m.MessageID)
	if err != nil {
		return nil, err
	}

	// The default User-Agent advertises the library version to every
	// recipient; nothing needs it.
	msg := gomail.NewMsg(gomail.WithCharset(gomail.CharsetUTF8), gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(s.from)
	msg.ToMailAddress(to)
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(id)
	msg.SetDate()
	msg.SetBodyString(gomail.TypeTextPlain, m.TextBody)
	if m.HTMLBody != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTMLBody)
	}
	return msg, nil
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

// classify maps a go-mail error to our retry semantics. Only replies that
// judge this particular mail count as permanent: a 5xx to RCPT (mailbox
// unknown) or to DATA (content or size refused). A 5xx to MAIL FROM, AUTH or
// EHLO is about our sender or configuration and would hit every mail alike,
// so it stays transient rather than permanently failing a whole campaign.
func classify(err error) error {
	var se *gomail.SendError
	if !errors.As(err, &se) || se.IsTemp() {
		return err
	}
	switch se.Reason {
	case gomail.ErrGetRcpts:
		// go-mail could not parse the recipient: no relay will ever take it.
		return &PermanentError{Code: se.ErrorCode(), Err: err}
	case gomail.ErrSMTPRcptTo, gomail.ErrSMTPData, gomail.ErrSMTPDataClose:
		// IsTemp is false for anything not starting with 4, including
		// network failures, so require an actual 5xx reply.
		if code := se.ErrorCode(); code >= 500 && code < 600 {
			return &PermanentError{Code: code, Err: err}
		}
	}
	return err
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
