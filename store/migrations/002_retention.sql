-- Retention programs for lapsed customers (issue 3): purchase statistics
-- and grades for audiences, coupons, survey links, dormant customers.

ALTER TABLE customers ADD COLUMN lifecycle text NOT NULL DEFAULT 'active' CHECK (lifecycle IN ('active','dormant'));

-- Kept up to date with every purchase (count, spend, dates) and by the
-- grading job (grade over its window), so audience filters are index
-- lookups instead of aggregates over all purchases.
CREATE TABLE customer_stats (
    customer_id        bigint        PRIMARY KEY REFERENCES customers(id),
    purchase_count     int           NOT NULL DEFAULT 0,
    total_spend        numeric(16,2) NOT NULL DEFAULT 0,
    first_purchase_at  timestamptz,
    last_purchase_at   timestamptz,
    grade              text          CHECK (grade IN ('A','B','C')),
    graded_at          timestamptz
);
CREATE INDEX customer_stats_last_purchase_idx ON customer_stats (last_purchase_at);
CREATE INDEX customer_stats_grade_idx ON customer_stats (grade);

INSERT INTO customer_stats (customer_id, purchase_count, total_spend, first_purchase_at, last_purchase_at)
SELECT customer_id, count(*), sum(amount), min(purchased_at), max(purchased_at) FROM purchases GROUP BY customer_id;

CREATE INDEX purchases_store_idx ON purchases (store, customer_id);
CREATE INDEX purchases_category_idx ON purchases (category, customer_id);

-- A customer is in a program at most once at a time, except in programs
-- that follow each purchase (happy call).
ALTER TABLE enrolments ADD COLUMN per_purchase boolean NOT NULL DEFAULT false;
UPDATE enrolments SET per_purchase = true WHERE purchase_id IS NOT NULL;
CREATE UNIQUE INDEX enrolments_one_live_per_customer
    ON enrolments (program_id, customer_id) WHERE status <> 'ended' AND NOT per_purchase;
-- A customer re-enters a program after its cooldown under the same
-- workflow id, so the id is unique among live enrolments only.
ALTER TABLE enrolments DROP CONSTRAINT enrolments_workflow_id_key;
CREATE UNIQUE INDEX enrolments_live_workflow_idx ON enrolments (workflow_id) WHERE status <> 'ended';
CREATE INDEX enrolments_workflow_idx ON enrolments (workflow_id);
CREATE INDEX enrolments_program_customer_idx ON enrolments (program_id, customer_id, ended_at);

CREATE TABLE coupons (
    id               bigserial     PRIMARY KEY,
    code             text          NOT NULL UNIQUE,
    idempotency_key  text          NOT NULL UNIQUE, -- program/enrolment/step: a retry issues nothing new
    program_id       bigint        REFERENCES programs(id),
    enrolment_id     bigint        REFERENCES enrolments(id),
    customer_id      bigint        NOT NULL REFERENCES customers(id),
    kind             text          NOT NULL CHECK (kind IN ('amount','percent')),
    value            numeric(14,2) NOT NULL CHECK (value > 0),
    currency         text          NOT NULL DEFAULT 'KRW',
    issued_at        timestamptz   NOT NULL DEFAULT now(),
    expires_at       timestamptz   NOT NULL,
    redeemed_at      timestamptz,
    redeemed_order   text
);
CREATE INDEX coupons_enrolment_idx ON coupons (enrolment_id);

-- A link in the "why did you leave" mail; its token is the only key.
CREATE TABLE survey_links (
    token         text        PRIMARY KEY,
    enrolment_id  bigint      NOT NULL REFERENCES enrolments(id),
    customer_id   bigint      NOT NULL REFERENCES customers(id),
    step          text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    answered_at   timestamptz,
    UNIQUE (enrolment_id, step)
);
