package workflows

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/dangol/dangol/activities"
	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/store"
)

// noticeEnv runs ConsentNotices on the time-skipping test server with its
// activities mocked: pages answers ConsentNoticePage by kind, sends fail
// as failures says, and what was sent and recorded is kept.
type noticeEnv struct {
	env      *testsuite.TestWorkflowEnvironment
	mu       sync.Mutex
	attempts map[string]int
	sent     []string // keys, in the order sends succeeded
	recorded []activities.ConsentNotice
}

func newNoticeEnv(t *testing.T, pages map[string]activities.ConsentNoticePage, failures map[string]error) *noticeEnv {
	var ts testsuite.WorkflowTestSuite
	ts.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	n := &noticeEnv{env: ts.NewTestWorkflowEnvironment(), attempts: map[string]int{}}
	n.env.RegisterWorkflow(ConsentNotices)
	n.env.OnActivity(a.ConsentNoticePage, mock.Anything, mock.Anything).Return(
		func(_ context.Context, req activities.ConsentNoticePageRequest) (activities.ConsentNoticePage, error) {
			if req.Limit != DefaultConsentNoticesPage {
				t.Errorf("page limit %d", req.Limit)
			}
			return pages[req.Kind], nil
		})
	n.env.OnActivity(a.SendMessage, mock.Anything, mock.Anything).Return(
		func(_ context.Context, req activities.SendRequest) (activities.SendResult, error) {
			n.mu.Lock()
			defer n.mu.Unlock()
			n.attempts[req.Key]++
			if req.Template.Builtin == "" || req.EnrolmentID != 0 {
				t.Errorf("notice %s: template %+v", req.Key, req.Template)
			}
			if err := failures[req.Key]; err != nil && n.attempts[req.Key] == 1 {
				return activities.SendResult{}, err
			}
			n.sent = append(n.sent, req.Key)
			return activities.SendResult{MessageID: int64(len(n.sent)), Status: domain.MessageQueued}, nil
		})
	n.env.OnActivity(a.RecordConsentNotices, mock.Anything, mock.Anything).Return(
		func(_ context.Context, ns []activities.ConsentNotice) error {
			n.recorded = append(n.recorded, ns...)
			return nil
		})
	return n
}

func nextInput(t *testing.T, env *testsuite.TestWorkflowEnvironment) ConsentNoticesInput {
	t.Helper()
	var can *workflow.ContinueAsNewError
	if err := env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("run ended with %v, want continue-as-new", err)
	}
	var in ConsentNoticesInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &in); err != nil {
		t.Fatal(err)
	}
	return in
}

// Changes first: a page that is not the last continues after its last
// event; every notice is recorded after its send ended, also one whose
// send failed for good, and one whose send failed once is retried (the
// retry's backoff passes on the skipping clock) and sent once.
func TestConsentNoticesChangePage(t *testing.T) {
	change := func(ev, cust int64) activities.ConsentNotice {
		return activities.ConsentNotice{Kind: store.NoticeChange, CustomerID: cust, EventID: ev, Channel: domain.ChannelSMS}
	}
	page := activities.ConsentNoticePage{Notices: []activities.ConsentNotice{change(11, 1), change(12, 2), change(13, 3)}, NextAfter: 13}
	n := newNoticeEnv(t, map[string]activities.ConsentNoticePage{store.NoticeChange: page}, map[string]error{
		"consent-notice:change:12": temporal.NewNonRetryableApplicationError("invalid number", activities.ErrTypeInvalidRecipient, nil),
		"consent-notice:change:13": errors.New("provider down"),
	})
	n.env.ExecuteWorkflow(ConsentNotices, ConsentNoticesInput{})
	next := nextInput(t, n.env)
	if next != (ConsentNoticesInput{Kind: store.NoticeChange, After: 13, PageSize: DefaultConsentNoticesPage, Changes: 3}) {
		t.Fatalf("next %+v", next)
	}
	if len(n.recorded) != 3 {
		t.Fatalf("recorded %+v, want the three notices", n.recorded)
	}
	if n.attempts["consent-notice:change:11"] != 1 || n.attempts["consent-notice:change:12"] != 1 || n.attempts["consent-notice:change:13"] != 2 {
		t.Fatalf("attempts %v", n.attempts)
	}
	if len(n.sent) != 2 {
		t.Fatalf("sent %v, want 11 and 13", n.sent)
	}
}

// The last page of changes hands over to the reconfirmation notices,
// whose last page ends the job with the counts of both.
func TestConsentNoticesChangesThenReconfirm(t *testing.T) {
	pages := map[string]activities.ConsentNoticePage{
		store.NoticeChange: {Done: true},
		store.NoticeReconfirm: {Done: true, NextAfter: 9, Notices: []activities.ConsentNotice{
			{Kind: store.NoticeReconfirm, CustomerID: 9, DueOn: "2026-11-24", Channel: domain.ChannelEmail},
		}},
	}
	n := newNoticeEnv(t, pages, nil)
	n.env.ExecuteWorkflow(ConsentNotices, ConsentNoticesInput{Changes: 4})
	next := nextInput(t, n.env)
	if next != (ConsentNoticesInput{Kind: store.NoticeReconfirm, PageSize: DefaultConsentNoticesPage, Changes: 4}) {
		t.Fatalf("next %+v", next)
	}
	if len(n.recorded) != 0 || len(n.sent) != 0 {
		t.Fatalf("an empty page sent %v recorded %v", n.sent, n.recorded)
	}

	n = newNoticeEnv(t, pages, nil)
	n.env.ExecuteWorkflow(ConsentNotices, next)
	var res ConsentNoticesResult
	if err := n.env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res != (ConsentNoticesResult{Changes: 4, Reconfirms: 1}) {
		t.Fatalf("result %+v", res)
	}
	if len(n.sent) != 1 || n.sent[0] != "consent-notice:reconfirm:9:2026-11-24" || len(n.recorded) != 1 {
		t.Fatalf("sent %v recorded %v", n.sent, n.recorded)
	}
}
