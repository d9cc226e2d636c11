-- dangol schema: only what the programs use (seed 004: collect with a purpose).
-- Customers are referenced by internal id everywhere else, so erasing a
-- customer's personal data touches this table only.

CREATE TABLE api_keys (
    id          bigserial PRIMARY KEY,
    name        text        NOT NULL,
    key_hash    text        NOT NULL UNIQUE, -- sha256 hex of the bearer key
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

CREATE TABLE customers (
    id           bigserial PRIMARY KEY,
    external_id  text        NOT NULL UNIQUE,
    name         text        NOT NULL DEFAULT '',
    phone        text,                        -- E.164
    email        text,
    birthday     date,
    time_zone    text        NOT NULL DEFAULT 'Asia/Seoul',
    locale       text        NOT NULL DEFAULT 'ko-KR',
    -- {"sms": {"granted": true, "at": "...", "source": "pos"}, "email": {...}, "call": {...}}
    consent      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE purchases (
    id            bigserial PRIMARY KEY,
    external_id   text          NOT NULL UNIQUE,
    customer_id   bigint        NOT NULL REFERENCES customers(id),
    amount        numeric(14,2) NOT NULL CHECK (amount >= 0),
    currency      text          NOT NULL,
    category      text          NOT NULL DEFAULT '',
    product       text          NOT NULL DEFAULT '',
    store         text          NOT NULL DEFAULT '',
    purchased_at  timestamptz   NOT NULL,
    created_at    timestamptz   NOT NULL DEFAULT now()
);
CREATE INDEX purchases_customer_idx ON purchases (customer_id, purchased_at DESC);

CREATE TABLE programs (
    id          bigserial PRIMARY KEY,
    name        text        NOT NULL,
    kind        text        NOT NULL,
    status      text        NOT NULL DEFAULT 'active' CHECK (status IN ('active','paused','stopped')),
    version     int         NOT NULL DEFAULT 1,
    -- the kind's parameters; steps are copied into each enrolment's workflow
    -- input, templates are read at send time (see README: what an edit changes)
    params      jsonb       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Each change of a program's steps is a new version; enrolments keep the
-- version they entered with, templates are read from the newest version.
CREATE TABLE program_versions (
    program_id  bigint      NOT NULL REFERENCES programs(id),
    version     int         NOT NULL,
    params      jsonb       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (program_id, version)
);

CREATE TABLE enrolments (
    id               bigserial PRIMARY KEY,
    program_id       bigint      NOT NULL REFERENCES programs(id),
    program_version  int         NOT NULL,
    customer_id      bigint      NOT NULL REFERENCES customers(id),
    purchase_id      bigint      REFERENCES purchases(id),
    workflow_id      text        NOT NULL UNIQUE,
    status           text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','active','ended')),
    outcome          text,       -- completed, stopped, opted_out, converted, expired ...
    started_at       timestamptz,
    ended_at         timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX enrolments_customer_idx ON enrolments (customer_id);
CREATE INDEX enrolments_program_status_idx ON enrolments (program_id, status);

CREATE TABLE messages (
    id               bigserial PRIMARY KEY,
    idempotency_key  text        NOT NULL UNIQUE, -- business key: program/purchase/touch/channel
    enrolment_id     bigint      REFERENCES enrolments(id),
    customer_id      bigint      NOT NULL REFERENCES customers(id),
    channel          text        NOT NULL CHECK (channel IN ('sms','email')),
    recipient        text        NOT NULL,
    subject          text        NOT NULL DEFAULT '',
    body             text        NOT NULL,
    provider_id      text UNIQUE,
    -- pending: row written, provider not called yet; sending: provider call
    -- under way (a retry must look the message up before sending again)
    status           text        NOT NULL DEFAULT 'pending',
    error_code       text,
    error_message    text,
    attempts         int         NOT NULL DEFAULT 0,
    send_started_at  timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX messages_customer_idx ON messages (customer_id, created_at DESC);

CREATE TABLE message_events (
    id          bigserial PRIMARY KEY,
    message_id  bigint      NOT NULL REFERENCES messages(id),
    status      text        NOT NULL,
    detail      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX message_events_message_idx ON message_events (message_id, at);

CREATE TABLE call_tasks (
    id               bigserial PRIMARY KEY,
    idempotency_key  text        NOT NULL UNIQUE,
    kind             text        NOT NULL DEFAULT 'happy_call' CHECK (kind IN ('happy_call','escalation')),
    customer_id      bigint      NOT NULL REFERENCES customers(id),
    enrolment_id     bigint      REFERENCES enrolments(id),
    store            text        NOT NULL DEFAULT '',
    assignee_role    text        NOT NULL DEFAULT 'staff' CHECK (assignee_role IN ('staff','store_manager')),
    script           text        NOT NULL DEFAULT '',
    due_at           timestamptz NOT NULL,
    expires_at       timestamptz,
    status           text        NOT NULL DEFAULT 'open' CHECK (status IN ('open','completed','expired','cancelled')),
    outcome          text        CHECK (outcome IN ('reached','no_answer','complaint')),
    note             text        NOT NULL DEFAULT '',
    completed_at     timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX call_tasks_open_idx ON call_tasks (store, due_at) WHERE status = 'open';
CREATE INDEX call_tasks_enrolment_idx ON call_tasks (enrolment_id);

-- Voice of the customer: what staff heard on a call, what a survey answered.
CREATE TABLE customer_voices (
    id           bigserial PRIMARY KEY,
    customer_id  bigint      NOT NULL REFERENCES customers(id),
    source       text        NOT NULL,
    source_ref   text        NOT NULL UNIQUE,
    note         text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
