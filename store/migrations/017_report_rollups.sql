-- Report rollups (issue 9: a report over 1,000,000 enrolments in under
-- 2 s). Every figure of the program report adds up across enrolments, and
-- an enrolment belongs to the UTC day it was made, so a report over a
-- range is the sum of its whole days' figures plus the edges. A
-- background job (the report-rollups schedule) stores each settled day's
-- figures, computed by the report's own statement over that day; the
-- report reads the stored days that are still true and computes the rest
-- (edges, today, days that changed) from the tables as before.
--
-- "Still true" is decided without locks on the write paths: every write
-- that can change a day's figures appends (program, day, its
-- transaction id) to report_changes. The refresh computes a day and
-- deletes that day's changes in one REPEATABLE READ transaction, so both
-- see the same snapshot: a change committed later, or in progress then,
-- is neither counted nor deleted. A stored day is true while its day has
-- no change left.

-- One stored day of a program: when and over which attribution window it
-- was computed. What is overdue depends on the time of the report, so a
-- stored day counts no call task overdue and the report counts the open
-- ones past due from call_tasks_open_idx.
CREATE TABLE report_days (
    program_id      bigint      NOT NULL REFERENCES programs(id),
    day             date        NOT NULL,
    window_months   int         NOT NULL,
    window_days     int         NOT NULL,
    window_seconds  bigint      NOT NULL,
    refreshed_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (program_id, day)
);

-- The report statement's rows for one stored day (section, store and the
-- section's columns; see store/report.go).
CREATE TABLE report_rollups (
    program_id  bigint      NOT NULL,
    day         date        NOT NULL,
    section     text        NOT NULL,
    store       text        NOT NULL,
    a           text        NOT NULL,
    b           text        NOT NULL,
    c           text        NOT NULL,
    n           bigint      NOT NULL,
    x           bigint      NOT NULL,
    y           bigint      NOT NULL,
    amount      numeric,
    at          timestamptz,
    FOREIGN KEY (program_id, day) REFERENCES report_days (program_id, day) ON DELETE CASCADE
);
CREATE INDEX report_rollups_day_idx ON report_rollups (program_id, day);

-- What changed since: at most one row per program, day and transaction.
-- No foreign key, so a write path pays one index insert and no lookup;
-- the refresh deletes the rows its snapshot has taken in.
CREATE TABLE report_changes (
    program_id  bigint NOT NULL,
    day         date   NOT NULL,
    xid         xid8   NOT NULL DEFAULT pg_current_xact_id(),
    PRIMARY KEY (program_id, day, xid)
);

-- The day a report places an enrolment in.
CREATE FUNCTION report_day(at timestamptz) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT (at AT TIME ZONE 'UTC')::date $$;

-- Statement-level triggers with transition tables: the sweep's batch of
-- 500 enrolments appends one change per day, not 500. PostgreSQL allows
-- a transition table only on a trigger of one event, hence one trigger
-- per event below; the functions branch on TG_OP.

-- An enrolment changed (made, ended, converted, its store pinned).
CREATE FUNCTION report_changed_enrolments() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO report_changes (program_id, day)
        SELECT DISTINCT program_id, report_day(created_at) FROM new_rows
        ON CONFLICT DO NOTHING;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO report_changes (program_id, day)
        SELECT DISTINCT program_id, report_day(created_at) FROM old_rows
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$;

-- A message, call task or coupon of an enrolment changed.
CREATE FUNCTION report_changed_by_enrolment() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO report_changes (program_id, day)
        SELECT DISTINCT e.program_id, report_day(e.created_at) FROM new_rows r JOIN enrolments e ON e.id = r.enrolment_id
        ON CONFLICT DO NOTHING;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO report_changes (program_id, day)
        SELECT DISTINCT e.program_id, report_day(e.created_at) FROM old_rows r JOIN enrolments e ON e.id = r.enrolment_id
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$;

-- A purchase changed: the conversions of its customer's enrolments made
-- in the longest attribution window before it (365 days; 400 leaves room
-- for calendar months), and the redemptions of coupons redeemed on its
-- order.
CREATE FUNCTION report_changed_purchases() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO report_changes (program_id, day)
        SELECT e.program_id, report_day(e.created_at) FROM new_rows p
            JOIN enrolments e ON e.customer_id = p.customer_id
                AND e.created_at < p.purchased_at AND e.created_at >= p.purchased_at - interval '400 days'
        UNION
        SELECT e.program_id, report_day(e.created_at) FROM new_rows p
            JOIN coupons k ON k.redeemed_order = p.external_id JOIN enrolments e ON e.id = k.enrolment_id
        ON CONFLICT DO NOTHING;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO report_changes (program_id, day)
        SELECT e.program_id, report_day(e.created_at) FROM old_rows p
            JOIN enrolments e ON e.customer_id = p.customer_id
                AND e.created_at < p.purchased_at AND e.created_at >= p.purchased_at - interval '400 days'
        UNION
        SELECT e.program_id, report_day(e.created_at) FROM old_rows p
            JOIN coupons k ON k.redeemed_order = p.external_id JOIN enrolments e ON e.id = k.enrolment_id
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$;

-- A purchase's redeemed coupons, found without reading every coupon.
CREATE INDEX coupons_redeemed_order_idx ON coupons (redeemed_order) WHERE redeemed_order IS NOT NULL;

CREATE TRIGGER enrolments_report_ins AFTER INSERT ON enrolments REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION report_changed_enrolments();
CREATE TRIGGER enrolments_report_upd AFTER UPDATE ON enrolments REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION report_changed_enrolments();
CREATE TRIGGER enrolments_report_del AFTER DELETE ON enrolments REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION report_changed_enrolments();

CREATE TRIGGER messages_report_ins AFTER INSERT ON messages REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION report_changed_by_enrolment();
CREATE TRIGGER messages_report_upd AFTER UPDATE ON messages REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION report_changed_by_enrolment();
CREATE TRIGGER messages_report_del AFTER DELETE ON messages REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION report_changed_by_enrolment();

CREATE TRIGGER call_tasks_report_ins AFTER INSERT ON call_tasks REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION report_changed_by_enrolment();
CREATE TRIGGER call_tasks_report_upd AFTER UPDATE ON call_tasks REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION report_changed_by_enrolment();
CREATE TRIGGER call_tasks_report_del AFTER DELETE ON call_tasks REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION report_changed_by_enrolment();

CREATE TRIGGER coupons_report_ins AFTER INSERT ON coupons REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION report_changed_by_enrolment();
CREATE TRIGGER coupons_report_upd AFTER UPDATE ON coupons REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION report_changed_by_enrolment();
CREATE TRIGGER coupons_report_del AFTER DELETE ON coupons REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION report_changed_by_enrolment();

CREATE TRIGGER purchases_report_ins AFTER INSERT ON purchases REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION report_changed_purchases();
CREATE TRIGGER purchases_report_upd AFTER UPDATE ON purchases REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION report_changed_purchases();
CREATE TRIGGER purchases_report_del AFTER DELETE ON purchases REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION report_changed_purchases();
