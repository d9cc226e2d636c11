-- The customer's word (issue 8): the unsubscribe link a marketing mail
-- carries in its List-Unsubscribe header, and the phone lookups of 080
-- opt-out lists.

-- The one-click unsubscribe link of a marketing mail, fixed when the
-- message is claimed (with its subject and body, whose footer carries the
-- same link), so every attempt sends the same header. NULL: no link (a
-- service mail, an SMS).
ALTER TABLE messages ADD COLUMN unsubscribe_url text;

-- 080 opt-out lists (and inbound SMS) find customers by phone number.
CREATE INDEX IF NOT EXISTS customers_phone_idx ON customers (phone);
