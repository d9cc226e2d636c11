-- Erasure (issue 8): a customer's personal data is removed everywhere it
-- is stored; the customer row stays (ids, counts and foreign keys stay
-- right) with an erased marker, and the erasure itself is recorded
-- without any personal data: which row, when, who asked.

ALTER TABLE customers ADD COLUMN erased_at timestamptz;

CREATE TABLE erasures (
    id           bigserial   PRIMARY KEY,
    customer_id  bigint      NOT NULL UNIQUE REFERENCES customers(id),
    -- the fan-out that ends the customer's running enrolments
    fanout_id    bigint      REFERENCES fanouts(id),
    actor        text        NOT NULL,
    at           timestamptz NOT NULL DEFAULT now()
);
