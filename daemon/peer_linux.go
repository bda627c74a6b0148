package daemon

import "golang.org/x/sys/unix"

// peerCred reads SO_PEERCRED.
func peerCred(fd int) Peer {
	cred, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil || cred == nil {
		return Peer{}
	}
	return Peer{PID: cred.Pid, UID: cred.Uid, GID: cred.Gid, OK: true}
}
