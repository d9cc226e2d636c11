-- Notices about consent (issue 7, 정보통신망법 §50(8), 시행령 §62-3): the
-- reminder every reconfirmation period that a customer consented to
-- advertising and how to withdraw, and the notice of a consent change
-- made on the customer's behalf. One row per notice: its business key is
-- unique, so a notice is recorded (and, through messages' idempotency
-- key, sent) once. message_id is NULL when no message could be made
-- (the customer is gone): the notice counts as undelivered.
CREATE TABLE consent_notices (
    id                bigserial   PRIMARY KEY,
    customer_id       bigint      NOT NULL REFERENCES customers(id),
    kind              text        NOT NULL CHECK (kind IN ('reconfirm', 'change')),
    -- reconfirm: the day (UTC) the notice of this consent cycle fell due.
    due_on            date,
    -- change: the consent_events row the notice tells of.
    consent_event_id  bigint      REFERENCES consent_events(id),
    message_key       text        NOT NULL UNIQUE,
    message_id        bigint      REFERENCES messages(id),
    channel           text        NOT NULL CHECK (channel IN ('sms', 'email')),
    created_at        timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'reconfirm') = (due_on IS NOT NULL)),
    CHECK ((kind = 'change') = (consent_event_id IS NOT NULL))
);
CREATE UNIQUE INDEX consent_notices_reconfirm_key ON consent_notices (customer_id, due_on) WHERE kind = 'reconfirm';
CREATE UNIQUE INDEX consent_notices_change_key ON consent_notices (consent_event_id) WHERE kind = 'change';
CREATE INDEX consent_notices_customer_idx ON consent_notices (customer_id, kind, due_on DESC);
