package testkit

import (
	"os"
	"syscall"
	"time"
)

// Terminate stops a child process gracefully: SIGTERM, then SIGKILL if it
// has not exited (exited is closed) within grace. It returns at once when
// the process has already exited.
func Terminate(p *os.Process, exited <-chan struct{}, grace time.Duration) {
	select {
	case <-exited:
		return
	default:
	}
	p.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(grace):
		p.Kill()
		<-exited
	}
}
