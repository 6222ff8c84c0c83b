//go:build unix && !linux

package devserver

import "syscall"

// The server gets its own process group, so a terminal's Ctrl-C reaches
// genius only and genius stops its worker before the server.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
