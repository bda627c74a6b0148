package session

import (
	"fmt"
	"io"
	"net/http"
	"os"
)

// spooled is a body (or its first InspectMax+1 bytes) in an unlinked
// temporary file: the name is removed right after creation, so the content
// disappears when the file is closed, whatever happens to the request or
// the process.
type spooled struct {
	f    *os.File
	size int64
	over bool // the body is longer than the bound; the rest is unread
}

// spool copies up to InspectMax+1 bytes of r into a temporary file.
func (p *Proxy) spool(r io.Reader) (*spooled, error) {
	f, err := os.CreateTemp(p.cfg.TempDir, "cas-inspect-*")
	if err != nil {
		return nil, fmt.Errorf("spool body: %w", err)
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, fmt.Errorf("spool body: unlink %s: %w", f.Name(), err)
	}
	bp := p.bufs.Get().(*[]byte)
	defer p.bufs.Put(bp)
	n, err := io.CopyBuffer(onlyWriter{f}, io.LimitReader(r, p.cfg.InspectMax+1), *bp)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("spool body: %w", err)
	}
	return &spooled{f: f, size: n, over: n > p.cfg.InspectMax}, nil
}

// onlyWriter hides ReadFrom so io.CopyBuffer uses the pooled buffer.
type onlyWriter struct{ io.Writer }

// reader returns the whole body again: the spooled part, then (when over
// the bound) the unread rest.
func (s *spooled) reader(rest io.Reader) io.Reader {
	sr := io.NewSectionReader(s.f, 0, s.size)
	if s.over {
		return io.MultiReader(sr, rest)
	}
	return sr
}

// remove closes (and so deletes) the spooled file.
func (s *spooled) remove() { s.f.Close() }

// judge turns a decision that asked for inspection into the final one: the
// fallback (block unless the policy says otherwise) when the body is over
// the bound, there is no scanner or the scan fails; else the scanner's.
func (p *Proxy) judge(x *exchange, sp *spooled, d Decision) (Decision, string, map[string]int) {
	fb := Decision{Action: d.Fallback, Message: d.Message, Recipients: d.Recipients, Policies: d.Policies}
	if fb.Action == "" {
		fb.Action = ActionBlock
	}
	switch {
	case sp.over:
		return fb, fmt.Sprintf("inspection fallback: body larger than %d bytes", p.cfg.InspectMax), nil
	case p.cfg.Scanner == nil:
		return fb, "inspection fallback: no scanner", nil
	}
	d2, hits, err := p.cfg.Scanner(x.r.Context(), x.sess, x.ev.Activity, sp.f, sp.size)
	if err != nil {
		p.cfg.Logger.Error("session proxy: scan", "app", x.app, "err", err)
		return fb, "inspection fallback: scan failed", nil
	}
	if d2.Action == "" {
		d2.Action = ActionAllow
	}
	if len(d2.Policies) == 0 {
		d2.Policies = d.Policies
	}
	return d2, "", hits
}

// inspectResponse spools the decoded file, has it scanned and enforces the
// outcome; the spooled file is gone when it returns.
func (p *Proxy) inspectResponse(x *exchange, resp *http.Response, d Decision) error {
	dec, err := p.cfg.Rewriter.codecs.decoder(resp.Header.Get("Content-Encoding"), resp.Body)
	if err != nil {
		x.ev.Reason = "inspection fallback: undecodable body"
		fb := d.Fallback
		if fb == "" || fb == ActionProtect {
			fb = ActionBlock
		}
		return p.enforce(x, resp, resp.Body, Decision{Action: fb, Message: d.Message, Policies: d.Policies}, false)
	}
	defer dec.close()
	sp, err := p.spool(dec)
	if err != nil {
		return err
	}
	defer sp.remove()
	d2, reason, hits := p.judge(x, sp, d)
	x.ev.Reason, x.ev.Hits, x.ev.Policies = reason, hits, d2.Policies
	return p.enforce(x, resp, sp.reader(dec), d2, true)
}
