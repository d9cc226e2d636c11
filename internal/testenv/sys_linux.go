//go:build linux

package testenv

import "syscall"

// childAttr returns the attributes of a server process: run as cred when it
// is not nil, and receive deathSig when the test process dies, so that no
// server outlives a test binary killed before Main could stop it.
func childAttr(cred *syscall.Credential, deathSig syscall.Signal) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Pdeathsig: deathSig}
}
