package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/dangol/dangol/domain"
)

// dbActivity is for activities that only touch PostgreSQL: quick, and
// retried until the database is back.
var dbActivity = workflow.ActivityOptions{
	StartToCloseTimeout: 30 * time.Second,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:    time.Second,
		BackoffCoefficient: 2,
		MaximumInterval:    time.Minute,
	},
}

// dbLocalActivity is dbActivity for a local activity (lean runs): the
// same bound on one try and the same retries. A local activity's
// schedule-to-close defaults to its start-to-close (the SDK's rule), which
// would fail the enrolment after 30 s of outage; dbActivity has none and
// retries until the database is back, so this one is given a year. A
// retry whose backoff outgrows the workflow task timeout waits on a
// server timer (the SDK's doing), so an outage costs a few events a
// minute, not a workflow task heartbeat every few seconds.
var dbLocalActivity = workflow.LocalActivityOptions{
	StartToCloseTimeout:    dbActivity.StartToCloseTimeout,
	ScheduleToCloseTimeout: 365 * 24 * time.Hour,
	RetryPolicy:            dbActivity.RetryPolicy,
}

// smsClientTimeout is the SMS client's own bound on one provider call
// (channels/sms: TwilioConfig.HTTPTimeout, 10 s by default). A send's
// start-to-close timeout is that plus the database work around it; a
// retry's lookup plus its send are shortened by the client to fit inside
// it, 2 s kept to record the answer (channels/sms: Twilio.budget). When
// a worker dies mid-send, the server retries the send about 15 s later
// instead of after a minute (issue 6, defect 18). Changing activity
// options changes no command a history recorded, so it needs no version.
const smsClientTimeout = 10 * time.Second

// smsActivity and mailActivity are for provider calls: retried at once
// after a lost worker, a provider outage retried for a day, then the
// message is given up and recorded as failed.
var smsActivity = workflow.ActivityOptions{
	StartToCloseTimeout:    smsClientTimeout + 5*time.Second,
	ScheduleToCloseTimeout: 24 * time.Hour,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:    time.Second,
		BackoffCoefficient: 2,
		MaximumInterval:    10 * time.Minute,
	},
}

// mailActivity: the SMTP client bounds the dial and each command (15 s by
// default), and one mail is several commands, so a mail gets a minute.
var mailActivity = workflow.ActivityOptions{
	StartToCloseTimeout:    time.Minute,
	ScheduleToCloseTimeout: 24 * time.Hour,
	RetryPolicy:            smsActivity.RetryPolicy,
}

func sendOptions(channel string) workflow.ActivityOptions {
	if channel == domain.ChannelEmail {
		return mailActivity
	}
	return smsActivity
}
