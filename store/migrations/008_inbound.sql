-- Inbound SMS (issue 8): every reply a customer sends, once. Twilio's
-- MessageSid of the inbound message is the key, so a replayed webhook finds
-- its row and changes nothing twice. keyword is what the reply did (stop,
-- start, help; '' for any other text, kept as the customer's voice);
-- customer_ids are every customer with the sender's phone, all of whom it
-- applied to. applied_at is set once the reply's changes are made: a row
-- without it (the process died in between) is applied again on replay,
-- and every change it makes is idempotent.
CREATE TABLE inbound_messages (
    id            bigserial   PRIMARY KEY,
    provider_sid  text        NOT NULL UNIQUE,
    from_phone    text        NOT NULL,
    body          text        NOT NULL,
    keyword       text        NOT NULL CHECK (keyword IN ('stop', 'start', 'help', '')),
    customer_ids  bigint[]    NOT NULL DEFAULT '{}',
    received_at   timestamptz NOT NULL DEFAULT now(),
    applied_at    timestamptz
);
CREATE INDEX inbound_messages_customers_idx ON inbound_messages USING gin (customer_ids);

-- Several customers may share a phone; a reply applies to all of them.
CREATE INDEX customers_phone_idx ON customers (phone);

-- Numbers the provider refused for good as no (mobile) number (Twilio
-- 21211, 21614): the send path suppresses SMS to them ("invalid phone").
-- Kept by number, not by customer: every customer with the number is
-- spared the failing send, and a customer given a new number is not.
CREATE TABLE invalid_phones (
    phone       text        PRIMARY KEY,
    error_code  text        NOT NULL,
    at          timestamptz NOT NULL DEFAULT now()
);
