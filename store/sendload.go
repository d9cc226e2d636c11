package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/dangol/dangol/compliance"
)

// SendLoad names what one send (or one text rendered) needs from the
// database.
type SendLoad struct {
	// Key is the message's idempotency key ("": no message is looked up).
	Key        string
	CustomerID int64
	// ProgramID is the program whose template and overrides apply (0:
	// none); Version is the enrolment's pinned version, whose parameters
	// are read too, for a step the current ones no longer have.
	ProgramID int64
	Version   int
	// PurchaseID, CouponID and ConsentEventID (0: none) are the rows the
	// text may tell of.
	PurchaseID     int64
	CouponID       int64
	ConsentEventID int64
	// Survey, when set, makes (or finds) the survey link of the step,
	// but only for a send that will still render: the customer is there
	// and not erased, and no final message has the key.
	Survey *SurveyLinkLoad
}

// SurveyLinkLoad is SurveyLink's input, for SendLoad.
type SurveyLinkLoad struct {
	EnrolmentID int64
	Step        string
	// NewToken is used when the step has no link yet.
	NewToken string
}

// SendData is what LoadForSend found; a part that is not there (or was
// not asked for) is nil.
type SendData struct {
	// Message is the message under the key.
	Message  *Message
	Customer *Customer
	// Settings are as Settings returns them, SettingsErr its error
	// (ErrSettingsBroken, with the defaults in Settings).
	Settings    compliance.Settings
	SettingsErr error
	Program     *Program
	// VersionParams are the parameters of the pinned version.
	VersionParams json.RawMessage
	Purchase      *Purchase
	Coupon        *Coupon
	ConsentEvent  *ConsentEvent
	// SurveyToken is the survey link's token ("" when none was asked
	// for or made).
	SurveyToken string
	// phones holds, for the customer's phone and the recipient of the
	// message under the key, whether it is known invalid.
	phones map[string]bool
}

// PhoneInvalid is Store.PhoneInvalid answered from the load: known is
// false for a phone the load did not look up (neither the customer's
// phone nor the recipient of the message under the key, as they were).
func (d SendData) PhoneInvalid(phone string) (invalid, known bool) {
	invalid, known = d.phones[phone]
	return invalid, known
}

// LoadForSend reads everything a send needs in one round trip (a batch,
// which the server runs as one transaction): the message under the key,
// the customer, the settings, the program with its pinned version, the
// purchase, coupon and consent change the text tells of, whether the
// phones involved are known invalid, and the survey link.
func (s *Store) LoadForSend(ctx context.Context, in SendLoad) (SendData, error) {
	d := SendData{Settings: compliance.Defaults()}
	b := &pgx.Batch{}
	if in.Key != "" {
		b.Queue(`SELECT `+messageCols+` FROM messages WHERE idempotency_key = $1`, in.Key).QueryRow(func(row pgx.Row) error {
			m, err := scanMessage(row)
			d.Message = &m
			return absent(err, &d.Message)
		})
	}
	b.Queue(`SELECT `+customerCols+` FROM customers WHERE id = $1`, in.CustomerID).QueryRow(func(row pgx.Row) error {
		c, err := scanCustomer(row)
		d.Customer = &c
		return absent(err, &d.Customer)
	})
	b.Queue(`SELECT doc FROM settings WHERE id = 1`).QueryRow(func(row pgx.Row) error {
		var doc []byte
		if err := row.Scan(&doc); errors.Is(err, pgx.ErrNoRows) {
			return nil
		} else if err != nil {
			return err
		}
		d.Settings, d.SettingsErr = decodeSettings(doc)
		return nil
	})
	b.Queue(`SELECT p.phone, EXISTS (SELECT 1 FROM invalid_phones i WHERE i.phone = p.phone) FROM (
			SELECT phone FROM customers WHERE id = $1 AND phone IS NOT NULL
			UNION SELECT recipient FROM messages WHERE idempotency_key = $2) p`, in.CustomerID, in.Key).Query(func(rows pgx.Rows) error {
		d.phones = map[string]bool{}
		for rows.Next() {
			var phone string
			var invalid bool
			if err := rows.Scan(&phone, &invalid); err != nil {
				return err
			}
			d.phones[phone] = invalid
		}
		return rows.Err()
	})
	if in.ProgramID != 0 {
		b.Queue(`SELECT `+programCols+` FROM programs WHERE id = $1`, in.ProgramID).QueryRow(func(row pgx.Row) error {
			p, err := scanProgram(row)
			d.Program = &p
			return absent(err, &d.Program)
		})
		b.Queue(`SELECT params FROM program_versions WHERE program_id = $1 AND version = $2`, in.ProgramID, in.Version).QueryRow(func(row pgx.Row) error {
			if err := row.Scan(&d.VersionParams); !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
			return nil
		})
	}
	if in.PurchaseID != 0 {
		b.Queue(`SELECT `+purchaseCols+` FROM purchases WHERE id = $1`, in.PurchaseID).QueryRow(func(row pgx.Row) error {
			p, err := scanPurchase(row)
			d.Purchase = &p
			return absent(err, &d.Purchase)
		})
	}
	if in.CouponID != 0 {
		b.Queue(`SELECT `+couponCols+couponFrom+`WHERE k.id = $1`, in.CouponID).QueryRow(func(row pgx.Row) error {
			k, err := scanCoupon(row)
			d.Coupon = &k
			return absent(err, &d.Coupon)
		})
	}
	if in.ConsentEventID != 0 {
		b.Queue(`SELECT id, customer_id, channel, granted, at, source, actor, recorded_at FROM consent_events WHERE id = $1`, in.ConsentEventID).QueryRow(func(row pgx.Row) error {
			var e ConsentEvent
			err := row.Scan(&e.ID, &e.CustomerID, &e.Channel, &e.Granted, &e.At, &e.Source, &e.Actor, &e.RecordedAt)
			d.ConsentEvent = &e
			return absent(notFound(err), &d.ConsentEvent)
		})
	}
	if sv := in.Survey; sv != nil {
		b.Queue(`INSERT INTO survey_links (token, enrolment_id, customer_id, step)
			SELECT $1, $2, $3, $4
			WHERE EXISTS (SELECT 1 FROM customers WHERE id = $3 AND erased_at IS NULL)
			  AND NOT EXISTS (SELECT 1 FROM messages WHERE idempotency_key = $5 AND status NOT IN ('pending', 'sending', 'held'))
			ON CONFLICT (enrolment_id, step) DO UPDATE SET step = EXCLUDED.step
			RETURNING token`, sv.NewToken, sv.EnrolmentID, in.CustomerID, sv.Step, in.Key).QueryRow(func(row pgx.Row) error {
			if err := row.Scan(&d.SurveyToken); err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("survey link: %w", err)
			}
			return nil
		})
	}
	return d, s.pool.SendBatch(ctx, b).Close()
}

// absent clears *p when err is ErrNotFound (the row is not there, which
// the caller judges), and returns any other error.
func absent[T any](err error, p **T) error {
	if err == ErrNotFound {
		*p = nil
		return nil
	}
	return err
}
