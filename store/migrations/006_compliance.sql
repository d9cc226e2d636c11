-- Lawful messages (issue 7): one settings resource, consent history,
-- customers' countries, the purpose and segments of every message, and the
-- frequency cap's ledger.

-- The operator's rules (compliance.Settings), one row. The document is
-- validated by round trip before it is written; a missing row means the
-- defaults.
CREATE TABLE settings (
    id          int         PRIMARY KEY CHECK (id = 1),
    doc         jsonb       NOT NULL,
    updated_by  text        NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Every consent change (grant, withdrawal; channel sms, email, call, or the
-- Korean night-time consent "night"), kept with when the customer gave it,
-- where (source) and who recorded it (actor: an API key's name, "customer"
-- for the customer's own reply or link, "system").
CREATE TABLE consent_events (
    id           bigserial   PRIMARY KEY,
    customer_id  bigint      NOT NULL REFERENCES customers(id),
    channel      text        NOT NULL CHECK (channel IN ('sms', 'email', 'call', 'night')),
    granted      boolean     NOT NULL,
    at           timestamptz NOT NULL,
    source       text        NOT NULL,
    actor        text        NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX consent_events_customer_idx ON consent_events (customer_id, id);

-- A customer's country (ISO 3166-1 alpha-2) decides quiet hours and the
-- advertising format; NULL means derived from the phone number, else the
-- settings' default country.
ALTER TABLE customers ADD COLUMN country text CHECK (country ~ '^[A-Z]{2}$');

-- Every message's purpose; the SMS segments and encoding as carriers count
-- them; and when a held message (quiet hours, cap) may go.
ALTER TABLE messages ADD COLUMN purpose text NOT NULL DEFAULT 'service'
    CHECK (purpose IN ('marketing', 'service'));
ALTER TABLE messages ADD COLUMN segments int;
ALTER TABLE messages ADD COLUMN encoding text;
ALTER TABLE messages ADD COLUMN not_before timestamptz;

-- The frequency cap's ledger: one row per marketing message that took a
-- place in its customer's window. Taking a place locks the customer row,
-- counts and inserts in one transaction, so two workflows sending at the
-- same instant cannot both pass.
CREATE TABLE marketing_sends (
    message_id   bigint      PRIMARY KEY REFERENCES messages(id),
    customer_id  bigint      NOT NULL REFERENCES customers(id),
    at           timestamptz NOT NULL
);
CREATE INDEX marketing_sends_customer_idx ON marketing_sends (customer_id, at DESC);
