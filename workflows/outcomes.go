package workflows

// Outcomes of the retention programs, besides those every enrolment may
// end with (names.go).
const (
	// OutcomeExpired ends an enrolment whose coupon expired unused.
	OutcomeExpired = "expired"
	// OutcomeDormant ends a wake-up cadence the customer did not answer;
	// the customer is marked dormant.
	OutcomeDormant = "dormant"
	// OutcomeNoBirthday ends a birthday enrolment whose customer removed
	// their birthday (or never had a valid one).
	OutcomeNoBirthday = "no_birthday"
)
