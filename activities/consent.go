package activities

import (
	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/store"
)

// callAllowed decides whether staff may be asked to call the customer: the
// customer granted call consent and has a number to call. It applies to
// every call task, escalations included: a complaint does not give the
// store permission to phone someone who withdrew it (the manager still
// sees the complaint on the closed happy-call task). The reason says why
// not, for the journey.
func callAllowed(c store.Customer) (ok bool, reason string) {
	switch {
	case !c.Consents(domain.ChannelCall):
		return false, "no call consent"
	case c.Phone == nil || *c.Phone == "":
		return false, "no phone number"
	}
	return true, ""
}
