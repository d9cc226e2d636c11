-- Program reports by mail (issue 9): one row per program, period and
-- recipient, claimed before the mail is sent, as messages are: the key is
-- unique, so a second run of the schedule for the same period (a retry,
-- a manual trigger, a catch-up) finds the row and sends nothing. status
-- follows the mail path of messages: pending (claimed, not sent), sending
-- (from right before the end of data; found so by a retry, the outcome is
-- unknown and the row turns ambiguous rather than mail twice), sent,
-- ambiguous, failed (the relay refused it for good).
CREATE TABLE report_mails (
    id             bigserial   PRIMARY KEY,
    program_id     bigint      NOT NULL REFERENCES programs(id),
    period_from    timestamptz NOT NULL,
    period_to      timestamptz NOT NULL,
    recipient      text        NOT NULL CHECK (length(recipient) BETWEEN 3 AND 254),
    status         text        NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'sending', 'sent', 'ambiguous', 'failed')),
    attempts       integer     NOT NULL DEFAULT 0,
    error_message  text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    sent_at        timestamptz,
    CHECK (period_from < period_to)
);
-- Addresses differ in case only in the local part, which no relay we know
-- honours: one mail per address whatever its spelling.
CREATE UNIQUE INDEX report_mails_key ON report_mails (program_id, period_from, period_to, lower(recipient));
