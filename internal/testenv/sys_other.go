//go:build unix && !linux

package testenv

import "syscall"

// childAttr returns the attributes of a server process: run as cred when it
// is not nil. There is no parent-death signal outside Linux; Main stops the
// servers.
func childAttr(cred *syscall.Credential, _ syscall.Signal) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred}
}
