//go:build linux

package netio

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// pair returns a wrapped client connection and the server's end of it.
func pair(t *testing.T) (*Conn, *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s := <-accepted
	if s == nil {
		t.Fatal("accept failed")
	}
	w, ok := Wrap(c).(*Conn)
	if !ok {
		t.Fatalf("Wrap(%T) did not wrap", c)
	}
	t.Cleanup(func() { w.Close(); s.Close() })
	return w, s.(*net.TCPConn)
}

// TestBulkBothWays moves 8 MiB each way through small socket buffers, so
// that writes meet a full buffer (EAGAIN, then the poller) and reads an
// empty one, and checks every byte.
func TestBulkBothWays(t *testing.T) {
	c, s := pair(t)
	// Small buffers (but not so small that TCP crawls).
	c.SetWriteBuffer(64 << 10)
	c.SetReadBuffer(64 << 10)
	s.SetReadBuffer(64 << 10)
	data := make([]byte, 8<<20)
	rand.Read(data)
	errc := make(chan error, 2)
	go func() { // the server echoes everything back
		_, err := io.Copy(s, io.LimitReader(s, int64(len(data))))
		errc <- err
	}()
	go func() {
		n, err := c.Write(data)
		if err == nil && n != len(data) {
			err = io.ErrShortWrite
		}
		errc <- err
	}()
	got := make([]byte, len(data))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got, data) {
		t.Fatal("the echoed bytes differ")
	}
}

func TestReadEOF(t *testing.T) {
	c, s := pair(t)
	s.Write([]byte("last"))
	s.Close()
	b, err := io.ReadAll(c)
	if err != nil || string(b) != "last" {
		t.Fatalf("ReadAll = %q, %v", b, err)
	}
	if n, err := c.Read(make([]byte, 8)); n != 0 || err != io.EOF {
		t.Fatalf("Read after EOF = %d, %v", n, err)
	}
}

func TestDeadlines(t *testing.T) {
	c, _ := pair(t)
	c.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
	_, err := c.Read(make([]byte, 8))
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("Read past its deadline = %v, want a timeout", err)
	}
	// Nobody reads: the write fills both buffers and then times out.
	c.SetWriteBuffer(4 << 10)
	c.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
	n, err := c.Write(make([]byte, 64<<20))
	if !errors.Is(err, os.ErrDeadlineExceeded) || n == 0 || n == 64<<20 {
		t.Fatalf("Write past its deadline = %d, %v; want part written and a timeout", n, err)
	}
}

func TestCloseEndsBlockedRead(t *testing.T) {
	c, _ := pair(t)
	errc := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 8))
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond)
	c.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("blocked Read after Close = %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end the blocked Read")
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Write after Close = %v, want net.ErrClosed", err)
	}
}

// TestWriteToReset: once the peer has reset the connection, a write fails
// with the system's error (EPIPE or ECONNRESET), not silently.
func TestWriteToReset(t *testing.T) {
	c, s := pair(t)
	s.SetLinger(0)
	s.Close() // RST
	time.Sleep(20 * time.Millisecond)
	var err error
	for range 10 {
		if _, err = c.Write([]byte("hello")); err != nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !errors.Is(err, syscall.EPIPE) && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("Write to a reset connection = %v", err)
	}
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != "write" {
		t.Fatalf("error %v is not a write *net.OpError", err)
	}
}

func TestWrapLeavesOthers(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if Wrap(a) != a {
		t.Fatal("Wrap changed a net.Pipe conn")
	}
}

// BenchmarkPingPong is one small write and read each way per op over
// loopback: Wrap's raw calls against net's.
func BenchmarkPingPong(b *testing.B) {
	for _, raw := range []bool{false, true} {
		name := "net"
		if raw {
			name = "raw"
		}
		b.Run(name, func(b *testing.B) {
			ln, _ := net.Listen("tcp", "127.0.0.1:0")
			defer ln.Close()
			go func() {
				s, err := ln.Accept()
				if err != nil {
					return
				}
				defer s.Close()
				if raw {
					s = Wrap(s)
				}
				buf := make([]byte, 1024)
				for {
					n, err := s.Read(buf)
					if err != nil {
						return
					}
					s.Write(buf[:n])
				}
			}()
			c, _ := net.Dial("tcp", ln.Addr().String())
			defer c.Close()
			if raw {
				c = Wrap(c)
			}
			msg := make([]byte, 1024)
			buf := make([]byte, 1024)
			b.ReportAllocs()
			for b.Loop() {
				c.Write(msg)
				io.ReadFull(c, buf)
			}
		})
	}
}

// arrived reads what reaches s within wait.
func arrived(t *testing.T, s *net.TCPConn, wait time.Duration) []byte {
	t.Helper()
	var got []byte
	buf := make([]byte, 256<<10)
	s.SetReadDeadline(time.Now().Add(wait))
	defer s.SetReadDeadline(time.Time{})
	for {
		n, err := s.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) && err != io.EOF {
				t.Fatal(err)
			}
			return got
		}
	}
}

// expect fails unless exactly want reaches s next: all of it within 10 s
// (a loaded machine may be slow to run the reader), then nothing more
// within 50 ms.
func expect(t *testing.T, s *net.TCPConn, want []byte, what string) {
	t.Helper()
	got := make([]byte, len(want))
	s.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := io.ReadFull(s, got)
	s.SetReadDeadline(time.Time{})
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("%s: %d of %d bytes arrived (%v), or they differ", what, n, len(want), err)
	}
	if more := arrived(t, s, 50*time.Millisecond); len(more) != 0 {
		t.Fatalf("%s: %d bytes more than the %d expected arrived", what, len(more), len(want))
	}
}

// TestCork: corked writes reach the peer only when holdMax fills or at
// Uncork, in order and whole; writes after Uncork go at once.
func TestCork(t *testing.T) {
	c, s := pair(t)
	data := make([]byte, 3*holdMax)
	rand.Read(data)
	rec := 16<<10 + 29 // a TLS record's size
	c.Cork()
	off := 0
	write := func(n int) {
		t.Helper()
		if w, err := c.Write(data[off : off+n]); err != nil || w != n {
			t.Fatalf("Write = %d, %v", w, err)
		}
		off += n
	}
	write(rec)
	write(rec)
	if got := arrived(t, s, 100*time.Millisecond); len(got) != 0 {
		t.Fatalf("%d bytes arrived before Uncork", len(got))
	}
	if err := c.Uncork(); err != nil {
		t.Fatal(err)
	}
	expect(t, s, data[:off], "after Uncork")
	c.Cork()
	// Records until holdMax fills: the ones before the one that would
	// overflow it arrive without an Uncork.
	start := off
	for off+rec-start <= holdMax {
		write(rec)
	}
	full := off
	write(rec)
	expect(t, s, data[start:full], "when the hold filled")
	// A large write that does not fit goes at once, after what is held.
	write(holdMax)
	expect(t, s, data[full:off], "after a large write")
	write(100)
	if err := c.Uncork(); err != nil {
		t.Fatal(err)
	}
	last := off
	write(200) // direct again
	expect(t, s, data[last-100:off], "after Uncork")
	// Uncork on an uncorked connection does nothing.
	if err := c.Uncork(); err != nil {
		t.Fatal(err)
	}
}

// TestCorkErrors: a write the peer's reset refuses surfaces from the
// Uncork that makes it, and Close drops what is held without writing it.
func TestCorkErrors(t *testing.T) {
	c, s := pair(t)
	c.Cork()
	c.Write([]byte("held"))
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if got := arrived(t, s, 100*time.Millisecond); len(got) != 0 {
		t.Fatalf("Close wrote %q", got)
	}
	if _, err := c.Write([]byte("x")); err == nil {
		t.Fatal("Write after Close succeeded")
	}

	c, s = pair(t)
	s.SetLinger(0)
	s.Close()
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		time.Sleep(10 * time.Millisecond)
		c.Cork()
		c.Write(make([]byte, 1000))
		err = c.Uncork()
	}
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != "write" {
		t.Fatalf("Uncork to a reset peer = %v, want a write OpError", err)
	}
}
