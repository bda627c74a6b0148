package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// ListenSocket listens on the Unix socket at path. If a live casd already
// answers there it fails with "address already in use"; a stale socket file
// is replaced. The directory is created (0750) and the socket is made 0660,
// group-owned by gid when gid >= 0.
func ListenSocket(path string, gid int) (net.Listener, error) {
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("listen %s: address already in use (another casd is running)", path)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("listen %s: exists and is not a socket", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("remove stale socket %s: %w", path, err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("create socket directory: %w", err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", path, err)
	}
	// Closing the listener removes the file; a crashed casd leaves it for the
	// stale check above.
	ln.(*net.UnixListener).SetUnlinkOnClose(true)
	if err := os.Chmod(path, 0o660); err != nil {
		ln.Close()
		return nil, fmt.Errorf("chmod socket: %w", err)
	}
	if gid >= 0 {
		if err := os.Chown(path, -1, gid); err != nil {
			ln.Close()
			return nil, fmt.Errorf("chown socket to group %d: %w", gid, err)
		}
	}
	return ln, nil
}

// Peer is the identity of the process at the other end of a socket
// connection, from SO_PEERCRED.
type Peer struct {
	PID int32
	UID uint32
	GID uint32
	OK  bool // false when the credentials could not be read
}

// String renders the peer for logs and events.
func (p Peer) String() string {
	if !p.OK {
		return "unknown"
	}
	return fmt.Sprintf("uid=%d gid=%d pid=%d", p.UID, p.GID, p.PID)
}

type peerKey struct{}

// peerOf reads the peer credentials of a Unix connection (peer_*.go per
// operating system).
func peerOf(c net.Conn) Peer {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return Peer{}
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return Peer{}
	}
	var p Peer
	if err := raw.Control(func(fd uintptr) { p = peerCred(int(fd)) }); err != nil {
		return Peer{}
	}
	return p
}

// connContext attaches the connection's peer to its requests' contexts.
func connContext(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, peerKey{}, peerOf(c))
}

// PeerFrom returns the peer attached to ctx by the socket server.
func PeerFrom(ctx context.Context) Peer {
	p, _ := ctx.Value(peerKey{}).(Peer)
	return p
}

// authorizer decides which peers may use the API: root, casd's own uid, and
// members of the admin group (primary or supplementary).
type authorizer struct {
	selfUID  uint32
	adminGID int // -1: none
	// groupsOf lists a uid's group ids; replaced in tests.
	groupsOf func(uid uint32) ([]uint32, error)
}

func newAuthorizer(adminGroup string) (*authorizer, error) {
	a := &authorizer{selfUID: uint32(os.Geteuid()), adminGID: -1, groupsOf: userGroups}
	if adminGroup == "" {
		return a, nil
	}
	gid, err := lookupGroup(adminGroup)
	if err != nil {
		return nil, fmt.Errorf("admin_group: %w", err)
	}
	a.adminGID = gid
	return a, nil
}

func lookupGroup(name string) (int, error) {
	if n, err := strconv.Atoi(name); err == nil && n >= 0 {
		return n, nil
	}
	g, err := user.LookupGroup(name)
	if err != nil {
		return -1, fmt.Errorf("group %q: %w", name, err)
	}
	return strconv.Atoi(g.Gid)
}

func userGroups(uid uint32) ([]uint32, error) {
	u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10))
	if err != nil {
		return nil, err
	}
	ids, err := u.GroupIds()
	if err != nil {
		return nil, err
	}
	out := make([]uint32, 0, len(ids))
	for _, s := range ids {
		if n, err := strconv.ParseUint(s, 10, 32); err == nil {
			out = append(out, uint32(n))
		}
	}
	return out, nil
}

// allowed reports whether p may use the API.
func (a *authorizer) allowed(p Peer) bool {
	if !p.OK {
		return false
	}
	if p.UID == 0 || p.UID == a.selfUID {
		return true
	}
	if a.adminGID < 0 {
		return false
	}
	if p.GID == uint32(a.adminGID) {
		return true
	}
	groups, err := a.groupsOf(p.UID)
	if err != nil {
		return false
	}
	for _, g := range groups {
		if g == uint32(a.adminGID) {
			return true
		}
	}
	return false
}

// isClosedConn reports whether err is the listener having been closed.
func isClosedConn(err error) bool {
	return errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.EINVAL)
}
