// Package schedules owns dangol's Temporal Schedules: one per segment
// program (its daily enrolment sweep) and the nightly grading job.
package schedules
