-- Program-wide and customer-wide signals (pause, resume, stop, opt-out,
-- birthday change) go out in the background, page by page, instead of
-- from inside the HTTP request. Each request is one row here; its progress
-- is what GET /v1/programs/{id} shows. The database gate keeps every
-- enrolment correct while a fan-out is still under way.
CREATE TABLE fanouts (
    id                  bigserial   PRIMARY KEY,
    program_id          bigint      REFERENCES programs(id),
    customer_id         bigint      REFERENCES customers(id),
    signal              text        NOT NULL,
    payload             jsonb       NOT NULL DEFAULT 'null'::jsonb,
    -- running: pages still to go; done: every live enrolment signalled;
    -- superseded: a newer fan-out of the same program or customer took over
    status              text        NOT NULL DEFAULT 'running' CHECK (status IN ('running','done','superseded')),
    total               int         NOT NULL DEFAULT 0 CHECK (total >= 0),   -- live enrolments when it was asked for
    signalled           int         NOT NULL DEFAULT 0 CHECK (signalled >= 0),
    ended               int         NOT NULL DEFAULT 0 CHECK (ended >= 0),   -- workflows that had already finished
    after_enrolment_id  bigint      NOT NULL DEFAULT 0,                      -- keyset cursor
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    finished_at         timestamptz,
    CHECK ((program_id IS NULL) <> (customer_id IS NULL))
);
CREATE INDEX fanouts_program_idx ON fanouts (program_id, id) WHERE program_id IS NOT NULL;
CREATE INDEX fanouts_customer_idx ON fanouts (customer_id, id) WHERE customer_id IS NOT NULL;

-- Keyset paging over a program's live enrolments.
CREATE INDEX enrolments_program_live_idx ON enrolments (program_id, id) WHERE status <> 'ended';
