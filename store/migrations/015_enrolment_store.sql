-- Report speed (issues 9 and 10): an enrolment's store is pinned when the
-- enrolment is made, so a report over 1,000,000 enrolments no longer looks
-- up each customer's latest purchase at query time.
--
-- The rule, the one the report used to apply at query time: an enrolment
-- made by a purchase (happy call, second purchase) belongs to that
-- purchase's store; any other (segment programs) to the store of the
-- customer's latest purchase at or before the enrolment, where the
-- customer last had dealings, or '' when there is none. Fixed once
-- enrolled, so a conversion purchase elsewhere never moves an enrolment.
--
-- The rule lives in a BEFORE INSERT trigger, so every writer (the sweep's
-- batch, a purchase's enrolments, a test's fixture) gets the same store
-- without repeating it; a writer that knows the store may set it.
CREATE FUNCTION enrolment_store(by_purchase bigint, customer bigint, enrolled_at timestamptz) RETURNS text
-- PL/pgSQL rather than SQL so its plan is prepared once per session, not
-- once per inserted row.
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN coalesce(
        (SELECT p.store FROM purchases p WHERE p.id = by_purchase),
        (SELECT p.store FROM purchases p
         WHERE by_purchase IS NULL AND p.customer_id = customer AND p.purchased_at <= enrolled_at
         ORDER BY p.purchased_at DESC, p.id DESC LIMIT 1),
        '');
END
$$;

-- The report's index is rebuilt with the store below; dropped first so
-- the backfill does not update it row by row.
DROP INDEX enrolments_program_created_idx;
ALTER TABLE enrolments ADD COLUMN store text;
UPDATE enrolments SET store = enrolment_store(purchase_id, customer_id, created_at);
ALTER TABLE enrolments ALTER COLUMN store SET NOT NULL;

CREATE FUNCTION enrolments_pin_store() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.store := enrolment_store(NEW.purchase_id, NEW.customer_id, NEW.created_at);
    RETURN NEW;
END
$$;
-- NOT NULL is checked after BEFORE triggers, so a row inserted without a
-- store gets one here and a row never ends up without one.
CREATE TRIGGER enrolments_pin_store BEFORE INSERT ON enrolments
    FOR EACH ROW WHEN (NEW.store IS NULL) EXECUTE FUNCTION enrolments_pin_store();

-- A program's enrolments by enrolment time, now with the store, so the
-- report reads an enrolment from the index alone.
CREATE INDEX enrolments_program_created_idx ON enrolments (program_id, created_at)
    INCLUDE (id, customer_id, purchase_id, control, status, outcome, store);

-- Audiences (issue 10): the consent filter is jsonb containment
-- (consent @> {"sms": {"granted": true}}), which this index serves when
-- few customers granted the channel; when most did, the planner's
-- estimate (from the column's statistics) picks a scan instead.
CREATE INDEX customers_consent_idx ON customers USING gin (consent jsonb_path_ops);
