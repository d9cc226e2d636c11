package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"golang.org/x/text/unicode/norm"

	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/store"
	"github.com/dangol/dangol/workflows"
)

// maxInboundBody is Twilio's limit of an SMS body, in characters.
const maxInboundBody = 1600

// inboundKeywords are the replies that change or ask about SMS
// advertising consent, as Twilio and Korean carriers know them, after
// inboundKeyword's normalisation.
var inboundKeywords = map[string]string{
	"STOP": store.KeywordStop, "STOPALL": store.KeywordStop, "UNSUBSCRIBE": store.KeywordStop,
	"CANCEL": store.KeywordStop, "END": store.KeywordStop, "QUIT": store.KeywordStop,
	"수신거부": store.KeywordStop, "거부": store.KeywordStop, "중지": store.KeywordStop,
	"START": store.KeywordStart, "UNSTOP": store.KeywordStart, "YES": store.KeywordStart, "수신동의": store.KeywordStart,
	"HELP": store.KeywordHelp,
}

// inboundKeyword is what a reply asks for (store.KeywordStop...), or ""
// for any other text. Case, spaces anywhere ("수신 거부") and the
// full-width forms a Korean keyboard may type ("ＳＴＯＰ") do not matter, nor
// a closing full stop or exclamation mark.
func inboundKeyword(body string) string {
	s := strings.ToUpper(norm.NFKC.String(body))
	s = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
	s = strings.TrimRight(s, ".!")
	return inboundKeywords[s]
}

// emptyTwiML answers Twilio without a reply of its own: our answer, if
// any, goes through the send path, where it is recorded and counted.
const emptyTwiML = `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`

// twilioInbound takes an SMS a customer sent us, signed like a status
// report. STOP and its kin withdraw SMS advertising consent of every
// customer with the sender's phone, START and its kin give it back, HELP
// asks who we are; anything else is kept as the customer's voice. Each
// reply is recorded once under its MessageSid: a replay changes nothing
// twice, and the answer's workflow id (from the SID) and message key let
// no replay send a second answer.
func (s *Server) twilioInbound(w http.ResponseWriter, r *http.Request) {
	params, ok := s.twilioForm(w, r)
	if !ok {
		return
	}
	sid, from, body := params["MessageSid"], params["From"], params["Body"]
	switch {
	case sid == "":
		renderError(w, r, badField("MessageSid", "is required"))
		return
	case !twilioSidShape.MatchString(sid):
		renderError(w, r, badField("MessageSid", "is not a Twilio message SID"))
		return
	case utf8.RuneCountInString(body) > maxInboundBody:
		renderError(w, r, badField("Body", fmt.Sprintf("longer than %d characters", maxInboundBody)))
		return
	}
	phone, ok := normalizePhone(from)
	if !ok {
		renderError(w, r, badField("From", "is not a phone number in E.164"))
		return
	}
	ctx := r.Context()
	keyword := inboundKeyword(body)
	m, err := s.Store.RecordInbound(ctx, store.InboundMessage{ProviderSID: sid, FromPhone: phone, Body: body, Keyword: keyword})
	if err == nil && m.AppliedAt == nil {
		// New (or a first delivery that died before it was done): find
		// the customers now and make every change; each is idempotent.
		err = s.applyInbound(r, &m)
	}
	if err != nil {
		renderError(w, r, err)
		return
	}
	if answerable(m) {
		err := s.startInboundAnswer(r, m)
		if err != nil {
			renderError(w, r, err)
			return
		}
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(emptyTwiML))
}

func answerable(m store.InboundMessage) bool {
	return m.Keyword != "" && len(m.CustomerIDs) > 0
}

// applyInbound finds the reply's customers, records them with it, makes
// its changes for each, and marks it applied.
func (s *Server) applyInbound(r *http.Request, m *store.InboundMessage) error {
	ctx := r.Context()
	cs, err := s.Store.CustomersByPhone(ctx, m.FromPhone)
	if err != nil {
		return err
	}
	ids := make([]int64, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	if *m, err = s.Store.SetInboundCustomers(ctx, m.ID, ids); err != nil {
		return err
	}
	for _, id := range m.CustomerIDs {
		var err error
		switch m.Keyword {
		case store.KeywordStop, store.KeywordStart:
			var changed bool
			var before, after store.Customer
			changed, before, after, err = s.Store.ChangeConsent(ctx, id, domain.ChannelSMS, m.Keyword == store.KeywordStart,
				store.SourceSMSReply, store.ActorCustomer, m.ReceivedAt)
			// As PUT /v1/customers: the database gate already stops the
			// next advertising SMS; when no channel is left, the
			// enrolments end now rather than at their next step.
			if err == nil && changed && !before.OptedOut() && after.OptedOut() {
				s.signalCustomer(r, id, workflows.SignalOptOut, nil)
			}
		case "":
			err = s.Store.RecordVoice(ctx, id, store.SourceSMSReply, fmt.Sprintf("sms:%s:%d", m.ProviderSID, id), m.Body)
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) { // erased meanwhile: nothing to change
			return err
		}
	}
	return s.Store.MarkInboundApplied(ctx, m.ID)
}

// startInboundAnswer starts the reply's answer once: the workflow id comes
// from the SID, and a closed one is not started again.
func (s *Server) startInboundAnswer(r *http.Request, m store.InboundMessage) error {
	id := workflows.InboundAnswerWorkflowID(m.ProviderSID)
	_, err := s.Temporal.ExecuteWorkflow(r.Context(), client.StartWorkflowOptions{
		ID: id, TaskQueue: s.TaskQueue,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
	}, workflows.WorkflowInboundAnswer, workflows.InboundAnswerInput{SID: m.ProviderSID, Keyword: m.Keyword, CustomerID: m.CustomerIDs[0]})
	if temporal.IsWorkflowExecutionAlreadyStartedError(err) {
		return nil
	}
	return err
}

// journeyReply is one SMS the customer sent, as the journey shows it.
type journeyReply struct {
	store.InboundMessage
	// SharedWith counts the other customers with the same phone, to
	// whom the reply applied as well.
	SharedWith int    `json:"shared_with"`
	Effect     string `json:"effect"`
}

func replyEffect(m store.InboundMessage) string {
	shared := ""
	if n := len(m.CustomerIDs); n > 1 {
		shared = fmt.Sprintf(" (the phone is shared: applied to all %d customers with it)", n)
	}
	switch m.Keyword {
	case store.KeywordStop:
		return "sms advertising consent withdrawn" + shared
	case store.KeywordStart:
		return "sms advertising consent given" + shared
	case store.KeywordHelp:
		return "answered with the sender's contact"
	}
	return "kept as the customer's voice" + shared
}

func journeyReplies(ms []store.InboundMessage) []journeyReply {
	out := make([]journeyReply, len(ms))
	for i, m := range ms {
		out[i] = journeyReply{InboundMessage: m, SharedWith: max(len(m.CustomerIDs)-1, 0), Effect: replyEffect(m)}
	}
	return out
}
