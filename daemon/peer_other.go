//go:build !linux && !darwin

package daemon

// peerCred cannot tell who is calling on this system, so nobody is
// allowed (fail closed).
func peerCred(fd int) Peer { return Peer{} }
