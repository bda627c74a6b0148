//go:build linux

// Package netio gives casd's TCP connections reads and writes that do not
// hand their scheduler slot back while in the kernel.
//
// Go makes every read and write on a socket a system call that the runtime
// treats as possibly blocking: it marks the goroutine's P as in a syscall,
// and its monitor thread (sysmon), when it sees a P still there after a tick
// (20 µs), hands the P to another thread. On a loaded machine a write to a
// loopback socket often outlasts a tick (it does the receiver's TCP work
// inline), so a proxy passing small requests keeps sysmon polling at its
// fastest and threads waking one another: about a fifth of a context switch
// per request and several µs of CPU, measured on casd's 1 KiB JSON
// benchmark. The sockets are non-blocking (Go's poller waits for them), so
// the calls return at once, with data or EAGAIN; made as raw system calls
// through syscall.RawConn they keep their P, and EAGAIN still parks the
// goroutine in the poller as before.
package netio

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"unsafe"
)

// Conn is a *net.TCPConn whose Read and Write are raw system calls. Like
// any net.Conn its methods may be called from several goroutines.
type Conn struct {
	*net.TCPConn
	rc syscall.RawConn

	// Each direction's call state, for its function made once at Wrap (a
	// closure per call would allocate). rmu and wmu serialize the calls,
	// as the poller's own locks would.
	rmu, wmu sync.Mutex
	r, w     call
	readFn   func(fd uintptr) bool
	writeFn  func(fd uintptr) bool

	// corked says writes are gathered in held (under wmu) rather than
	// made at once: see Cork.
	corked bool
	held   *[]byte
}

// holdMax is the most a corked connection gathers before writing: four
// TLS records.
const holdMax = 64 << 10

var holdBufs = sync.Pool{New: func() any { b := make([]byte, 0, holdMax); return &b }}

// call is one Read's or Write's buffer and outcome.
type call struct {
	p     []byte
	n     int
	errno syscall.Errno
}

// Wrap returns c with raw reads and writes when it is a *net.TCPConn, and c
// itself otherwise.
func Wrap(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	w := &Conn{TCPConn: tc, rc: rc}
	w.readFn, w.writeFn = w.r.read, w.w.write
	return w
}

// Read reads from the socket, waiting in Go's poller while there is
// nothing to read (and under the read deadline, as net.Conn's Read).
func (c *Conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.rmu.Lock()
	defer c.rmu.Unlock()
	c.r = call{p: p}
	err := c.rc.Read(c.readFn)
	n, errno := c.r.n, c.r.errno
	c.r.p = nil
	return c.result(n, errno, err, true)
}

// read is a raw read(2); false means EAGAIN: wait for the socket.
func (r *call) read(fd uintptr) bool {
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(ptr(r.p)), uintptr(len(r.p)))
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		case 0:
			r.n = int(n)
		default:
			r.errno = e
		}
		return true
	}
}

// Write writes all of p, waiting in Go's poller while the socket's buffer
// is full (and under the write deadline). On a corked connection it may
// only gather p, to be written later.
func (c *Conn) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if !c.corked {
		return c.write(p)
	}
	if len(*c.held)+len(p) <= holdMax {
		*c.held = append(*c.held, p...)
		return len(p), nil
	}
	if err := c.writeHeld(); err != nil {
		return 0, err
	}
	if len(p) >= holdMax/2 {
		return c.write(p)
	}
	*c.held = append(*c.held, p...)
	return len(p), nil
}

// write writes p; wmu is held.
func (c *Conn) write(p []byte) (int, error) {
	c.w = call{p: p}
	err := c.rc.Write(c.writeFn)
	n, errno := c.w.n, c.w.errno
	c.w.p = nil
	return c.result(n, errno, err, false)
}

// Cork makes the connection gather what is written to it, up to holdMax
// bytes, and write it in one system call when that fills or at Uncork. A
// TLS connection writes each record (at most 16 KiB) by itself; corked
// beneath it, a large response goes out in a quarter of the writes, and
// its reader wakes a quarter as often.
func (c *Conn) Cork() {
	c.wmu.Lock()
	if !c.corked {
		c.corked = true
		c.held = holdBufs.Get().(*[]byte)
	}
	c.wmu.Unlock()
}

// Uncork writes what has been gathered and makes writes direct again.
func (c *Conn) Uncork() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if !c.corked {
		return nil
	}
	err := c.writeHeld()
	c.release()
	return err
}

// writeHeld writes what a corked connection has gathered; wmu is held.
func (c *Conn) writeHeld() error {
	h := *c.held
	if len(h) == 0 {
		return nil
	}
	*c.held = h[:0]
	_, err := c.write(h)
	return err
}

// release ends gathering, dropping what is held; wmu is held.
func (c *Conn) release() {
	c.corked = false
	*c.held = (*c.held)[:0]
	holdBufs.Put(c.held)
	c.held = nil
}

// Close closes the connection; what a corked connection still holds is
// not written (a caller that wants it sent calls Uncork first).
func (c *Conn) Close() error {
	err := c.TCPConn.Close()
	c.wmu.Lock()
	if c.corked {
		c.release()
	}
	c.wmu.Unlock()
	return err
}

// write is raw write(2)s until p is written; false means EAGAIN: wait for
// room in the socket's buffer.
func (w *call) write(fd uintptr) bool {
	for w.n < len(w.p) {
		q := w.p[w.n:]
		n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(ptr(q)), uintptr(len(q)))
		switch e {
		case 0:
			w.n += int(n)
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false
		default:
			w.errno = e
			return true
		}
	}
	return true
}

// result makes the errors net.Conn's Read and Write make.
func (c *Conn) result(n int, errno syscall.Errno, err error, read bool) (int, error) {
	op := "write"
	if read {
		op = "read"
	}
	if err != nil {
		// The poller's own: a closed connection or a deadline, already
		// the errors net's methods return underneath an OpError.
		return n, &net.OpError{Op: op, Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: unwrapOp(err)}
	}
	if errno != 0 {
		return n, &net.OpError{Op: op, Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: os.NewSyscallError(op, errno)}
	}
	if read && n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

func unwrapOp(err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) {
		return oe.Err
	}
	return err
}

// ptr is the address of p's first byte (p is not empty), for a raw system
// call; p stays reachable through the call's caller.
func ptr(p []byte) unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(p)) }
