package programs

import "fmt"

// EnrolmentWorkflowID is the one workflow id of a customer in a program
// that enrols customers (not purchases): while it runs, no second
// enrolment of the same customer can start. It lives here, in pure code,
// because both the sweep activity and the workflows need it.
func EnrolmentWorkflowID(kind string, programID, customerID int64) string {
	return fmt.Sprintf("%s/%d/%d", kind, programID, customerID)
}
