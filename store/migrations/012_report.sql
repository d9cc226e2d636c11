-- Program reports (issue 9): every figure of GET /v1/programs/{id}/report
-- is read starting from the program's enrolments in a range of enrolment
-- time, then each enrolment's messages, call tasks, coupons and purchases
-- by index (call_tasks_enrolment_idx, coupons_enrolment_idx,
-- purchases_customer_idx and purchases' unique external_id exist already).

-- A program's enrolments by enrolment time; the included columns are all
-- the report reads of an enrolment, so a mostly-ended program is read
-- from the index alone.
CREATE INDEX enrolments_program_created_idx ON enrolments (program_id, created_at)
    INCLUDE (id, customer_id, purchase_id, control, status, outcome);

-- An enrolment's messages (until now only found through the customer).
CREATE INDEX messages_enrolment_idx ON messages (enrolment_id) WHERE enrolment_id IS NOT NULL;
