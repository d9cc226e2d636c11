// Package sendcost measures the database round trips of one message sent
// through activities.SendMessage, on real parts: the database, the
// twilio-go client against the Twilio stand-in, an SMTP server. The bench
// (make bench) prints its figures; its test holds the send path to them.
package sendcost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"time"

	smtpmock "github.com/mocktools/go-smtp-mock/v2"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dangol/dangol/activities"
	"github.com/dangol/dangol/channels/mail"
	"github.com/dangol/dangol/channels/sms"
	"github.com/dangol/dangol/compliance"
	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/internal/pgcount"
	"github.com/dangol/dangol/store"
	"github.com/dangol/dangol/twiliostandin"
)

// Case is one kind of send, and what it cost.
type Case struct {
	Channel string // domain.ChannelSMS or domain.ChannelEmail
	Purpose string // compliance.PurposeService or PurposeMarketing
	// Retry: the send is the retry of an attempt that died after the
	// provider took the message and before its answer was recorded
	// (the row is left "sending").
	Retry bool
	// Status is what the measured attempt left the message in.
	Status string
	// Counts are the measured attempt's round trips; Statements what
	// they were.
	Counts     pgcount.Counts
	Statements []string
	// Delivered is how many messages the provider (stand-in or SMTP
	// server) holds for this case's customer: 1, or the send is wrong.
	Delivered int
}

// Name is the case as a table row names it, e.g. "sms marketing retry".
func (c Case) Name() string {
	n := c.Channel + " " + c.Purpose
	if c.Retry {
		return n + " retry"
	}
	return n + " first"
}

// Settings are the settings Run stores: lawful for Korean advertising,
// no quiet hours (the figure must not depend on the hour it runs) and a
// cap no run reaches.
func Settings() compliance.Settings {
	s := compliance.Defaults()
	s.SenderName = "단골상점"
	s.SenderContact = "02-555-0100"
	s.OptOutNumber = "080-555-0100"
	s.QuietHours = map[string]compliance.QuietHours{}
	s.FrequencyCap = compliance.FrequencyCap{Max: 100, WindowDays: 1}
	s.ReleaseSpreadMinutes = 0
	return s
}

const (
	accountSID = "AC0123456789abcdef0123456789abcdef"
	authToken  = "fedcba9876543210fedcba9876543210"
	fromNumber = "+15005550006"
)

// Run sends one message of each case (SMS and mail, service and
// advertising, first attempt and retry) and returns what each cost. The
// database at dsn must be migrated and be Run's own: it stores its
// Settings, a program and a customer per case.
func Run(ctx context.Context, dsn string) ([]Case, error) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg, err := pgxpoolConfig(dsn)
	if err != nil {
		return nil, err
	}
	st, err := store.OpenConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if _, err := st.PutSettings(ctx, Settings(), "sendcost"); err != nil {
		return nil, err
	}
	standin := twiliostandin.New(twiliostandin.Options{AuthToken: authToken, Logger: quiet})
	standinHTTP := httptest.NewServer(standin)
	defer func() { standinHTTP.Close(); standin.Close() }()
	texter, err := sms.NewTwilio(sms.TwilioConfig{AccountSID: accountSID, AuthToken: authToken, From: fromNumber, APIBase: standinHTTP.URL, HTTPTimeout: 5 * time.Second})
	if err != nil {
		return nil, err
	}
	relay := smtpmock.New(smtpmock.ConfigurationAttr{HostAddress: "127.0.0.1", MultipleMessageReceiving: true})
	if err := relay.Start(); err != nil {
		return nil, err
	}
	defer func() { _ = relay.Stop() }()
	mailer, err := mail.NewSMTP(mail.SMTPConfig{Host: "127.0.0.1", Port: relay.PortNumber(), From: "dangol@dangol.localhost", TLS: mail.TLSNone,
		HeloName: "dangol.localhost", Timeout: 5 * time.Second})
	if err != nil {
		return nil, err
	}
	prog, err := st.CreateProgram(ctx, "sendcost", "happy_call", []byte(`{"touches":[{"key":"t1","offset":"1s",
		"sms":"{{.Name}}님, 감사합니다","email_subject":"{{.Name}}님께","email":"{{.Name}}님, 다시 찾아 주셔서 감사합니다"}]}`))
	if err != nil {
		return nil, err
	}
	// No status callback URL: a callback racing the retry would settle
	// the message before it and make the retry's count a matter of timing.
	acts := &activities.Activities{Store: st, PublicBaseURL: "http://127.0.0.1", LinkSecret: []byte("sendcost-link-secret-0123456789abcdef")}
	run := fmt.Sprint(time.Now().UnixNano())

	var cases []Case
	for _, retry := range []bool{false, true} {
		for _, channel := range []string{domain.ChannelSMS, domain.ChannelEmail} {
			for _, purpose := range []string{compliance.PurposeService, compliance.PurposeMarketing} {
				c := Case{Channel: channel, Purpose: purpose, Retry: retry}
				n := len(cases) + 1
				phone := fmt.Sprintf("+8210555%05d", n)
				email := "sendcost-" + strconv.Itoa(n) + "@example.com"
				yes := store.Consent{Granted: true, At: time.Now(), Source: "sendcost"}
				cust, _, err := st.UpsertCustomer(ctx, store.Customer{ExternalID: "sendcost-" + run + "-" + strconv.Itoa(n), Name: "김민수",
					Phone: &phone, Email: &email, TimeZone: "Asia/Seoul", Locale: "ko-KR",
					Consent: map[string]store.Consent{domain.ChannelSMS: yes, domain.ChannelEmail: yes}})
				if err != nil {
					return nil, err
				}
				field := activities.FieldSMS
				if channel == domain.ChannelEmail {
					field = activities.FieldEmail
				}
				req := activities.SendRequest{Key: "sendcost:" + run + ":" + strconv.Itoa(n), Channel: channel, CustomerID: cust.ID, Purpose: purpose,
					Template: activities.TemplateRef{ProgramID: prog.ID, Version: 1, Step: "t1", Field: field}}
				acts.SMS, acts.Mail = texter, mailer
				if retry {
					// The first attempt's worker dies right after the
					// provider took the message.
					acts.SMS, acts.Mail = dyingSMS{texter}, dyingMail{mailer}
					died(func() { _, _ = acts.SendMessage(ctx, req) })
					acts.SMS, acts.Mail = texter, mailer
				}
				var res activities.SendResult
				counter, err := pgcount.Measure(ctx, func(ctx context.Context) error {
					var err error
					res, err = acts.SendMessage(ctx, req)
					return err
				})
				if err != nil {
					return nil, fmt.Errorf("%s: %w", c.Name(), err)
				}
				c.Status, c.Counts, c.Statements = res.Status, counter.Counts(), counter.Statements()
				if channel == domain.ChannelSMS {
					for _, m := range standin.Messages() {
						if m.To == phone {
							c.Delivered++
						}
					}
				} else {
					c.Delivered = relayHolds(relay, email)
				}
				cases = append(cases, c)
			}
		}
	}
	return cases, nil
}

// errDied never leaves a dying sender: runtime.Goexit ends the attempt
// as a crash would, without a return for SendMessage to record.
var errDied = errors.New("unreachable")

// dyingSMS hands the message to the provider and dies before its answer
// is recorded.
type dyingSMS struct{ sms.Sender }

func (d dyingSMS) Send(ctx context.Context, m sms.Message) (sms.Receipt, error) {
	if _, err := d.Sender.Send(ctx, m); err != nil {
		return sms.Receipt{}, err
	}
	runtime.Goexit()
	return sms.Receipt{}, errDied
}

// dyingMail hands the mail to the relay (past the end of data) and dies
// before its answer is recorded.
type dyingMail struct{ mail.Sender }

func (d dyingMail) Send(ctx context.Context, m mail.Message) error {
	if err := d.Sender.Send(ctx, m); err != nil {
		return err
	}
	runtime.Goexit()
	return errDied
}

// died runs f on a goroutine of its own, which a dying sender ends.
func died(f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	<-done
}

func relayHolds(relay *smtpmock.Server, to string) int {
	n := 0
	for _, m := range relay.Messages() {
		for _, rr := range m.RcpttoRequestResponse() {
			if len(rr) > 0 && strings.Contains(rr[0], "<"+to+">") && m.Msg() {
				n++
			}
		}
	}
	return n
}

// pgxpoolConfig is the pool configuration for dsn with the round-trip
// counter's tracer set.
func pgxpoolConfig(dsn string) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	cfg.ConnConfig.Tracer = pgcount.Tracer{}
	return cfg, nil
}
