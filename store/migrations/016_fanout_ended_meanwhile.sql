-- A fan-out page retried after its first attempt signalled enrolments that
-- then ended (a stop ends them) must reach them again, or the fan-out
-- counts fewer than its total. Its page therefore takes the enrolments
-- still live and those that ended since the fan-out was created; this
-- index finds the latter without reading a program's whole ended past.
CREATE INDEX enrolments_program_ended_idx ON enrolments (program_id, ended_at) WHERE status = 'ended';
