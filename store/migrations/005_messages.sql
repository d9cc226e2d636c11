-- Messages (issue 6): idempotent provider reports, reconciliation with
-- the provider, and mail whose outcome is unknown.

-- A provider report (a status callback, or the same status fetched by the
-- reconcile job) carries a key naming the event: provider, message SID,
-- status, error code. The same report delivered again finds its key taken
-- and adds nothing. dangol's own events (pending, sending ...) have no key;
-- NULLs never collide in a unique index.
ALTER TABLE message_events ADD COLUMN dedupe_key text;
CREATE UNIQUE INDEX message_events_dedupe_idx ON message_events (message_id, dedupe_key);

-- When the reconcile job last asked the provider about a message, so a
-- message the provider keeps at "sent" does not take every run's batch.
ALTER TABLE messages ADD COLUMN checked_at timestamptz;

-- The reconcile job's batch: SMS the provider has but has not reported
-- final, oldest first.
CREATE INDEX messages_unsettled_idx ON messages (updated_at)
    WHERE channel = 'sms' AND provider_id IS NOT NULL AND status IN ('sending', 'accepted', 'queued', 'sent');

-- Messages still being sent: pending or sending past their retry budget
-- are settled by the same job.
CREATE INDEX messages_in_flight_idx ON messages (created_at)
    WHERE status IN ('pending', 'sending');
