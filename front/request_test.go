package front

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/textproto"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/net/http/httpguts"
)

// FuzzReadRequest holds front's parser to net/http's, in process (faster
// than FuzzParity's loopback connections): on the same bytes, a request
// front reads must be one http.ReadRequest reads, with the same fields,
// body, body error and trailers; a head http.ReadRequest refuses, front
// must refuse with the same status. Front may refuse more only by the
// server's own checks (protocol version, Host, field names). With split,
// front reads at most that many bytes at a time (a head that comes in
// pieces is read line by line).
func FuzzReadRequest(f *testing.F) {
	for i, s := range parityCorpus {
		f.Add([]byte(s), uint8(i%3*7))
	}
	f.Fuzz(func(t *testing.T, raw []byte, split uint8) {
		var r io.Reader = bytes.NewReader(raw)
		if split > 0 {
			r = &pieces{r: r, n: int(split)}
		}
		c := &conn{srv: &Server{}, br: bufio.NewReaderSize(r, readBufSize)}
		std := bufio.NewReaderSize(bytes.NewReader(raw), readBufSize)
		lastPOST := false
		for i := 0; ; i++ {
			if lastPOST {
				for _, br := range []*bufio.Reader{c.br, std} {
					peek, _ := br.Peek(4)
					br.Discard(leadingCRLF(peek))
				}
			}
			if _, err := c.br.Peek(1); err != nil {
				return
			}
			want, werr := http.ReadRequest(std)
			got, gerr := c.readRequest(context.Background(), false)
			if werr != nil {
				if gerr == nil {
					t.Fatalf("request %d: front read %+v; net/http: %v", i, got, werr)
				}
				if wantTE, gotTE := reflect.TypeOf(werr).String() == "*http.unsupportedTEError", gerr == errUnsupportedTE; wantTE != gotTE {
					t.Fatalf("request %d: front %v, net/http %v", i, gerr, werr)
				}
				return
			}
			if gerr != nil {
				var se statusError
				switch {
				case isNetReadError(gerr):
					t.Fatalf("request %d: front %v, net/http read %+v", i, gerr, want)
				case !errors.As(gerr, &se):
					t.Fatalf("request %d: front %v, net/http read %+v", i, gerr, want)
				case strings.Contains(se.text, "version") && want.ProtoMajor == 1:
					t.Fatalf("request %d: front %v, net/http read HTTP/1", i, gerr)
				case strings.Contains(se.text, "name") && validNames(want.Header):
					t.Fatalf("request %d: front %v, net/http's names are valid: %v", i, gerr, want.Header)
				case strings.Contains(se.text, "Host") && i == 0:
					// http.ReadRequest drops Host: read it again.
					tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(raw)))
					tp.ReadLine()
					h, _ := tp.ReadMIMEHeader()
					hosts := h["Host"]
					missing := want.ProtoAtLeast(1, 1) && len(hosts) == 0 && want.Method != http.MethodConnect
					malformed := len(hosts) == 1 && !httpguts.ValidHostHeader(hosts[0])
					if !missing && !malformed {
						t.Fatalf("request %d: front %v, net/http's Host %q is fine", i, gerr, hosts)
					}
				}
				return
			}
			if b, ok := got.Body.(*requestBody); ok {
				b.w = &response{c: c} // outside a server
			}
			g, w := see(got, true), see(want, true)
			if !reflect.DeepEqual(g, w) {
				t.Fatalf("request %d differs:\nfront    %+v\nnet/http %+v", i, g, w)
			}
			if g.BodyErr != "" {
				return
			}
			lastPOST = got.Method == http.MethodPost
		}
	})
}

// pieces reads at most n bytes at a time from r.
type pieces struct {
	r io.Reader
	n int
}

func (p *pieces) Read(b []byte) (int, error) {
	return p.r.Read(b[:min(len(b), p.n)])
}

func validNames(h http.Header) bool {
	for k := range h {
		if !httpguts.ValidHeaderFieldName(k) {
			return false
		}
	}
	return true
}

func TestReadRequestNoBody(t *testing.T) {
	c := &conn{srv: &Server{}, br: bufio.NewReader(strings.NewReader("GET / HTTP/1.1\r\nHost: a\r\n\r\n"))}
	req, err := c.readRequest(context.Background(), false)
	if err != nil || req.Body != http.NoBody || req.ContentLength != 0 {
		t.Fatalf("%+v, %v", req, err)
	}
}
