-- Measurement (issue 9): an enrolment may be in the program's control
-- group (held out: recorded, sent nothing, compared with the treated).
ALTER TABLE enrolments ADD COLUMN control boolean NOT NULL DEFAULT false;
