package store

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"
)

// PurchaseIntake is what taking a purchase reads before it writes: the
// customer, the programs the purchase may enter, and the enrolments it may
// convert.
type PurchaseIntake struct {
	Customer Customer
	// Active are the active programs, newest first (ListPrograms' order
	// and bound).
	Active []Program
	// Live are the customer's enrolments that have not ended, oldest
	// first, each with its program as it is now (paused and stopped ones
	// too: a conversion ends an enrolment whatever its program's status).
	Live []LiveEnrolment
}

// LiveEnrolment is a live enrolment and its program.
type LiveEnrolment struct {
	Enrolment
	Program Program
}

// enrolmentColsE and programColsP are enrolmentCols and programCols
// qualified with the aliases e and p.
var (
	enrolmentColsE = "e." + strings.ReplaceAll(enrolmentCols, ", ", ", e.")
	programColsP   = "p." + strings.ReplaceAll(programCols, ", ", ", p.")
)

// ReadPurchaseIntake reads what a purchase by the customer with this
// external id needs, in one round trip (a batch). ErrNotFound when there
// is no such customer.
func (s *Store) ReadPurchaseIntake(ctx context.Context, customerExternalID string) (PurchaseIntake, error) {
	var in PurchaseIntake
	b := &pgx.Batch{}
	b.Queue(`SELECT `+customerCols+` FROM customers WHERE external_id = $1`, customerExternalID).QueryRow(func(row pgx.Row) error {
		var err error
		in.Customer, err = scanCustomer(row)
		return err
	})
	b.Queue(`SELECT `+programCols+` FROM programs WHERE status = $1 ORDER BY id DESC LIMIT 500`, ProgramActive).Query(func(rows pgx.Rows) error {
		var err error
		in.Active, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Program, error) { return scanProgram(r) })
		return err
	})
	b.Queue(`SELECT `+enrolmentColsE+`, `+programColsP+`
		FROM enrolments e JOIN programs p ON p.id = e.program_id
		WHERE e.customer_id = (SELECT id FROM customers WHERE external_id = $1) AND e.status <> 'ended'
		ORDER BY e.id`, customerExternalID).Query(func(rows pgx.Rows) error {
		var err error
		in.Live, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (LiveEnrolment, error) {
			var l LiveEnrolment
			e, p := &l.Enrolment, &l.Program
			err := r.Scan(&e.ID, &e.ProgramID, &e.ProgramVersion, &e.CustomerID, &e.PurchaseID, &e.WorkflowID, &e.Status, &e.Outcome,
				&e.StartedAt, &e.EndedAt, &e.CreatedAt, &e.Control,
				&p.ID, &p.Name, &p.Kind, &p.Status, &p.Version, &p.Params, &p.CreatedAt, &p.UpdatedAt)
			return l, err
		})
		return err
	})
	return in, s.pool.SendBatch(ctx, b).Close()
}
