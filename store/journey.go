package store

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// JourneyEnrolment is one enrolment with everything dangol recorded for it
// as it happened: the messages, call tasks and coupons its steps produced.
type JourneyEnrolment struct {
	Enrolment
	ProgramName string
	ProgramKind string
	Messages    []Message
	CallTasks   []CallTask
	Coupons     []Coupon
}

// maxJourneyEnrolments bounds a journey: the newest enrolments are shown.
const maxJourneyEnrolments = 100

// CustomerJourney reads a customer's newest enrolments (oldest first among
// them) and what their steps recorded, in four queries whatever the count.
func (s *Store) CustomerJourney(ctx context.Context, customerID int64) ([]JourneyEnrolment, error) {
	rows, err := s.pool.Query(ctx, `SELECT * FROM (
			SELECT e.id, e.program_id, e.program_version, e.customer_id, e.purchase_id, e.workflow_id, e.status, e.outcome,
			       e.started_at, e.ended_at, e.created_at, e.control, p.name, p.kind
			FROM enrolments e JOIN programs p ON p.id = e.program_id
			WHERE e.customer_id = $1 ORDER BY e.id DESC LIMIT $2) t ORDER BY id`, customerID, maxJourneyEnrolments)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (JourneyEnrolment, error) {
		var j JourneyEnrolment
		e := &j.Enrolment
		err := r.Scan(&e.ID, &e.ProgramID, &e.ProgramVersion, &e.CustomerID, &e.PurchaseID, &e.WorkflowID, &e.Status, &e.Outcome,
			&e.StartedAt, &e.EndedAt, &e.CreatedAt, &e.Control, &j.ProgramName, &j.ProgramKind)
		return j, err
	})
	if err != nil || len(out) == 0 {
		return out, err
	}
	ids := make([]int64, len(out))
	index := map[int64]*JourneyEnrolment{}
	for i := range out {
		ids[i] = out[i].ID
		index[out[i].ID] = &out[i]
	}
	msgs, err := s.pool.Query(ctx, `SELECT `+messageCols+` FROM messages WHERE customer_id = $1 AND enrolment_id = ANY($2) ORDER BY id`, customerID, ids)
	if err != nil {
		return nil, err
	}
	ms, err := pgx.CollectRows(msgs, func(r pgx.CollectableRow) (Message, error) { return scanMessage(r) })
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		j := index[*m.EnrolmentID]
		j.Messages = append(j.Messages, m)
	}
	tasks, err := s.pool.Query(ctx, `SELECT `+callTaskCols+callTaskFrom+`WHERE t.enrolment_id = ANY($1) ORDER BY t.id`, ids)
	if err != nil {
		return nil, err
	}
	ts, err := pgx.CollectRows(tasks, func(r pgx.CollectableRow) (CallTask, error) { return scanCallTask(r) })
	if err != nil {
		return nil, err
	}
	for _, t := range ts {
		j := index[*t.EnrolmentID]
		j.CallTasks = append(j.CallTasks, t)
	}
	coupons, err := s.pool.Query(ctx, `SELECT `+couponCols+couponFrom+`WHERE k.enrolment_id = ANY($1) ORDER BY k.id`, ids)
	if err != nil {
		return nil, err
	}
	ks, err := pgx.CollectRows(coupons, func(r pgx.CollectableRow) (Coupon, error) { return scanCoupon(r) })
	if err != nil {
		return nil, err
	}
	for _, k := range ks {
		j := index[*k.EnrolmentID]
		j.Coupons = append(j.Coupons, k)
	}
	return out, nil
}
