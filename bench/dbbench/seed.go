// Package dbbench builds the database-side benchmarks of issue 10: a
// program report over a million enrolments and an audience count over a
// million customers, each with its EXPLAIN, the audience against the
// hand-written SQL that asks the same question in the same run.
//
// The seeds write directly into a throwaway database (testenv's, or the
// bench harness's) in a few set-based statements; they are not a way to
// load a production database.
package dbbench

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ReportAt is when the seeded report program's enrolments start; they
// span 100 days from it.
var ReportAt = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Stores is how many stores the seeded customers are spread over.
const Stores = 20

// bulk runs the seed's statements on one connection with what a bulk
// load into a fresh database wants: foreign-key and other triggers off
// (the rows are consistent by construction; superuser, which testenv's
// user is), secondary indexes of the big tables dropped during the load
// and rebuilt after it (inserting a million random keys into a btree
// that does not fit in shared buffers is most of a naive seed's time),
// then VACUUM ANALYZE so the planner and index-only scans see the data.
func bulk(ctx context.Context, dsn string, tables []string, stmts []string, args map[string]any) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	for _, set := range []string{`SET session_replication_role = replica`, `SET maintenance_work_mem = '256MB'`, `SET work_mem = '64MB'`, `SET jit = off`} {
		if _, err := conn.Exec(ctx, set); err != nil {
			return fmt.Errorf("%s: %w", set, err)
		}
	}
	var rebuild []string
	for _, t := range tables {
		r, err := dropIndexes(ctx, conn, t)
		if err != nil {
			return err
		}
		rebuild = append(rebuild, r...)
	}
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s, pgx.NamedArgs(args)); err != nil {
			return fmt.Errorf("%.80s: %w", s, err)
		}
	}
	for _, s := range rebuild {
		if _, err := conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	for _, t := range tables {
		if _, err := conn.Exec(ctx, `VACUUM ANALYZE `+pgx.Identifier{t}.Sanitize()); err != nil {
			return err
		}
	}
	_, err = conn.Exec(ctx, `ANALYZE`)
	return err
}

// dropIndexes drops table's indexes other than its primary key and
// returns the statements that rebuild them as they were (unique
// constraints as constraints).
func dropIndexes(ctx context.Context, conn *pgx.Conn, table string) ([]string, error) {
	rows, err := conn.Query(ctx, `
		SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid), coalesce(c.conname, ''), coalesce(pg_get_constraintdef(c.oid), '')
		FROM pg_index i LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid
		WHERE i.indrelid = $1::regclass AND NOT i.indisprimary`, table)
	if err != nil {
		return nil, err
	}
	type index struct{ name, def, con, condef string }
	idx, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (index, error) {
		var x index
		return x, r.Scan(&x.name, &x.def, &x.con, &x.condef)
	})
	if err != nil {
		return nil, err
	}
	t := pgx.Identifier{table}.Sanitize()
	var rebuild []string
	for _, x := range idx {
		drop, again := `DROP INDEX `+x.name, x.def
		if x.con != "" {
			c := pgx.Identifier{x.con}.Sanitize()
			drop, again = `ALTER TABLE `+t+` DROP CONSTRAINT `+c, `ALTER TABLE `+t+` ADD CONSTRAINT `+c+` `+x.condef
		}
		if _, err := conn.Exec(ctx, drop); err != nil {
			return nil, fmt.Errorf("%s: %w", drop, err)
		}
		rebuild = append(rebuild, again)
	}
	return rebuild, nil
}

// SeedReport builds, in a fresh database, a welcome-back program of n
// enrolments over 100 days from ReportAt, one customer each, 10 %
// control, with what the program leaves behind: a purchase 40 days
// before enrolment in one of Stores stores (the enrolment's store), an SMS
// and a mail per treated enrolment, coupons for 30 % (a third of them
// redeemed on a recorded order), call tasks for 10 %, and a purchase in
// the window for a fifth; plus another program of n/2 enrolments with
// their messages and coupons, so a report must select its own. It
// returns the first program's id.
//
// At n = 1,000,000 that is 1.5 M enrolments, 2.8 M messages, 1.2 M
// purchases, 0.17 M coupons and 0.1 M call tasks, seeded in about a
// minute (ten with the indexes kept during the load).
func SeedReport(ctx context.Context, dsn string, n int) (programID int64, err error) {
	if n < 1 || n > 10_000_000 {
		return 0, fmt.Errorf("seed report: %d enrolments: must be 1-10000000", n)
	}
	stmts := []string{
		`INSERT INTO programs (name, kind, params) VALUES ('bench', 'welcome_back', '{}'), ('other', 'welcome_back', '{}')`,
		`CREATE TEMP TABLE sc (i int PRIMARY KEY, cid bigint NOT NULL, at timestamptz NOT NULL, pid bigint NOT NULL, other bigint NOT NULL)`,
		`WITH c AS (
			INSERT INTO customers (external_id) SELECT 'b' || i FROM generate_series(1, @n::int) i RETURNING id, external_id)
		 INSERT INTO sc SELECT substr(c.external_id, 2)::int, c.id,
			@at::timestamptz + (substr(c.external_id, 2)::int % 100) * interval '1 day' + (substr(c.external_id, 2)::int % 86400) * interval '1 second',
			(SELECT min(id) FROM programs WHERE name = 'bench'), (SELECT max(id) FROM programs WHERE name = 'other')
		 FROM c`,
		`INSERT INTO purchases (external_id, customer_id, amount, currency, store, purchased_at)
			SELECT 'pb' || i, cid, 1000 + i % 5000, 'KRW', 'store-' || (i % 20), at - interval '40 days' FROM sc
			UNION ALL SELECT 'pc' || i, cid, 20000, 'KRW', 'store-' || (i % 20), at + interval '5 days' FROM sc WHERE i % 5 = 0`,
		`CREATE TEMP TABLE se AS
		 WITH e AS (
			INSERT INTO enrolments (program_id, program_version, customer_id, workflow_id, status, outcome, control, started_at, ended_at, created_at, store)
			SELECT pid, 1, cid, 'wf-' || i,
				CASE WHEN i % 10 = 0 OR i % 4 <> 1 THEN 'ended' ELSE 'active' END,
				CASE WHEN i % 10 = 0 THEN 'control' WHEN i % 4 = 0 THEN 'converted' WHEN i % 4 = 2 THEN 'expired' WHEN i % 4 = 3 THEN 'completed' END,
				i % 10 = 0, at, at + interval '30 days', at, 'store-' || (i % 20) FROM sc
			UNION ALL
			SELECT other, 1, cid, 'wo-' || i, 'ended', 'completed', false, at, at, at, 'store-' || (i % 20) FROM sc WHERE i % 2 = 0
			RETURNING id, program_id, customer_id, control)
		 SELECT sc.i, sc.cid, sc.at, e.id AS eid, e.program_id FROM e JOIN sc ON sc.cid = e.customer_id WHERE NOT e.control`,
		`INSERT INTO messages (idempotency_key, enrolment_id, customer_id, channel, recipient, body, status, segments, provider_id, error_message, created_at)
			SELECT 'welcome_back:' || program_id || ':e' || eid || ':greeting:sms', eid, cid, 'sms', '+8210', 'x',
				(ARRAY['delivered','sent','failed','suppressed','held'])[1 + i % 5], 1, 'SM' || eid,
				CASE i % 5 WHEN 3 THEN 'no consent' WHEN 4 THEN 'quiet hours' END, at + interval '1 hour' FROM se
			UNION ALL SELECT 'welcome_back:' || program_id || ':e' || eid || ':reminder:email', eid, cid, 'email', 'x@y', 'x', 'sent', NULL, NULL, NULL,
				at + interval '2 days' FROM se`,
		`INSERT INTO coupons (code, idempotency_key, program_id, enrolment_id, customer_id, kind, value, issued_at, expires_at, redeemed_at, redeemed_order)
			SELECT 'K' || eid, 'welcome_back:' || program_id || ':e' || eid || ':greeting:coupon', program_id, eid, cid, 'amount', 5000, at, at + interval '30 days',
				CASE WHEN i % 15 = 0 THEN at + interval '5 days' END, CASE WHEN i % 15 = 0 THEN 'pc' || i END FROM se WHERE i % 10 = 3 OR i % 15 = 0`,
		`INSERT INTO call_tasks (idempotency_key, customer_id, enrolment_id, store, due_at, expires_at, status, outcome, completed_at, created_at)
			SELECT 'welcome_back:' || program_id || ':e' || eid || ':call:call', cid, eid, 'store-' || (i % 20), at + interval '1 day', at + interval '3 days',
				CASE WHEN i % 3 = 0 THEN 'completed' ELSE 'expired' END, CASE WHEN i % 3 = 0 THEN 'reached' END,
				CASE WHEN i % 3 = 0 THEN at + interval '2 days' END, at + interval '1 day' FROM se WHERE i % 10 = 1`,
	}
	tables := []string{"customers", "purchases", "enrolments", "messages", "coupons", "call_tasks"}
	if err := bulk(ctx, dsn, tables, stmts, map[string]any{"n": n, "at": ReportAt}); err != nil {
		return 0, fmt.Errorf("seed report: %w", err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	err = conn.QueryRow(ctx, `SELECT min(id) FROM programs WHERE name = 'bench'`).Scan(&programID)
	return programID, err
}
