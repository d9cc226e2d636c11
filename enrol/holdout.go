package enrol

import (
	"hash/fnv"
	"strconv"
)

// OutcomeControl is the outcome of an enrolment held out as the program's
// control group: recorded at enrolment, ended at once, sent nothing.
const OutcomeControl = "control"

// holdoutBuckets is the resolution of the holdout: a percent is 100 buckets.
const holdoutBuckets = 10000

// HeldOut says whether the customer is in the program's control group at
// the given share. It is a pure function of the ids (FNV-1a of
// "program:customer"), so the choice is the same at every sweep, after a
// restart and on every replica, and a customer's chance is the same in
// every program while the groups of two programs are independent.
func HeldOut(programID, customerID int64, percent int) bool {
	if percent <= 0 {
		return false
	}
	h := fnv.New64a()
	var buf [41]byte
	b := strconv.AppendInt(buf[:0], programID, 10)
	b = append(b, ':')
	b = strconv.AppendInt(b, customerID, 10)
	_, _ = h.Write(b)
	return h.Sum64()%holdoutBuckets < uint64(percent)*holdoutBuckets/100
}

// Control says whether a new enrolment of the customer in the program is
// held out, at the program's holdout_percent. Deciding here, next to For,
// keeps the purchase path and the sweep on the same choice.
func Control(p Program, customerID int64) bool {
	if p.Params == nil {
		return false
	}
	return HeldOut(p.ID, customerID, p.Params.Measurement().Holdout())
}
