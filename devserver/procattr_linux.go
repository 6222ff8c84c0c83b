package devserver

import "syscall"

// The server gets its own process group, so a terminal's Ctrl-C reaches
// genius only and genius stops its worker before the server; Pdeathsig
// stops the server if genius itself dies without a chance to clean up.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
