package daemon

import "golang.org/x/sys/unix"

// peerCred reads LOCAL_PEERCRED (and LOCAL_PEERPID for the log).
func peerCred(fd int) Peer {
	cred, err := unix.GetsockoptXucred(fd, unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
	if err != nil || cred == nil || cred.Ngroups < 1 {
		return Peer{}
	}
	p := Peer{UID: cred.Uid, GID: cred.Groups[0], OK: true}
	if pid, err := unix.GetsockoptInt(fd, unix.SOL_LOCAL, unix.LOCAL_PEERPID); err == nil {
		p.PID = int32(pid)
	}
	return p
}
