package main

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
)

// Go's HTTP client implements the chunked transfer coding only: a response
// whose Transfer-Encoding ends in another coding is refused ("unsupported
// transfer encoding") and would become a 502. RFC 9112 §6.3 says such a
// body lasts until the connection closes. teConn makes the client read it
// that way: on the connections to the upstream, the header block of a
// response whose final transfer coding is not chunked is rewritten without
// its Transfer-Encoding and Content-Length lines and with Connection:
// close, so that the body is read until the close (its bytes pass as they
// are: an unknown coding cannot be decoded). Every other byte passes
// untouched.

// maxHeaderBlock bounds the header block teConn holds to inspect; a longer
// one passes untouched.
const maxHeaderBlock = 64 << 10

// teDialer wraps a DialContext with teConn.
func teDialer(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &teConn{Conn: c}, nil
	}
}

// teConn is a client connection that rewrites the header blocks of
// responses with an unsupported final transfer coding. A response header
// block is recognised as the bytes that follow a request (a Write since the
// last final response header) and start with "HTTP/1." at a read.
type teConn struct {
	net.Conn
	expect   atomic.Bool // a request was written since the last final response header
	inHeader bool
	hdr      []byte // the header block being read
	pending  []byte // bytes read and inspected, not yet returned
}

func (c *teConn) Write(p []byte) (int, error) {
	c.expect.Store(true)
	return c.Conn.Write(p)
}

func (c *teConn) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	n, err := c.Conn.Read(p)
	if n == 0 || (!c.inHeader && !(c.expect.Load() && statusLinePrefix(p[:n]))) {
		return n, err
	}
	c.inHeader = true
	c.hdr = append(c.hdr, p[:n]...)
	for {
		end := headerEnd(c.hdr)
		if end < 0 {
			if err != nil || len(c.hdr) > maxHeaderBlock {
				return c.release(p, c.hdr, err)
			}
			buf := make([]byte, 4096)
			var m int
			m, err = c.Conn.Read(buf)
			c.hdr = append(c.hdr, buf[:m]...)
			continue
		}
		block, rest := c.hdr[:end], c.hdr[end:]
		out := rewriteTE(block)
		if len(block) > 9 && block[9] == '1' { // a 1xx: the final header follows
			c.pending = append(c.pending, out...)
			c.hdr = append([]byte(nil), rest...)
			if len(c.hdr) == 0 {
				return c.flushPending(p, err)
			}
			if !statusLinePrefix(c.hdr) {
				return c.release(p, c.hdr, err)
			}
			continue
		}
		c.expect.Store(false)
		return c.release(p, append(out, rest...), err)
	}
}

// statusLinePrefix reports whether b starts like a status line ("HTTP/1."),
// as far as it goes.
func statusLinePrefix(b []byte) bool {
	const prefix = "HTTP/1."
	if len(b) < len(prefix) {
		return string(b) == prefix[:len(b)]
	}
	return string(b[:len(prefix)]) == prefix
}

// headerEnd returns the length of the header block at the start of b (up
// to and including the empty line, CRLF or bare LF), or -1 when it is not
// complete.
func headerEnd(b []byte) int {
	for i := 0; i < len(b); i++ {
		if b[i] != '\n' {
			continue
		}
		switch {
		case i+1 < len(b) && b[i+1] == '\n':
			return i + 2
		case i+2 < len(b) && b[i+1] == '\r' && b[i+2] == '\n':
			return i + 3
		}
	}
	return -1
}

// release hands b (after anything pending) to the reader and stops
// inspecting until the next response.
func (c *teConn) release(p, b []byte, err error) (int, error) {
	c.inHeader, c.hdr = false, nil
	c.pending = append(c.pending, b...)
	return c.flushPending(p, err)
}

func (c *teConn) flushPending(p []byte, err error) (int, error) {
	n := copy(p, c.pending)
	c.pending = c.pending[n:]
	if len(c.pending) > 0 {
		err = nil // the error comes with the next read
	}
	return n, err
}

// rewriteTE returns a response header block rewritten when its final
// transfer coding is not chunked: without Transfer-Encoding and
// Content-Length, with Connection: close. Other blocks come back as they
// are.
func rewriteTE(block []byte) []byte {
	lines := strings.Split(strings.TrimRight(string(block), "\r\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	var codings []string
	for _, l := range lines[1:] {
		name, value, ok := strings.Cut(l, ":")
		if ok && strings.EqualFold(strings.TrimSpace(name), "Transfer-Encoding") {
			for f := range strings.SplitSeq(value, ",") {
				if f = strings.TrimSpace(f); f != "" {
					codings = append(codings, strings.ToLower(f))
				}
			}
		}
	}
	if len(codings) == 0 || codings[len(codings)-1] == "chunked" {
		return block
	}
	var b strings.Builder
	b.WriteString(lines[0])
	b.WriteString("\r\n")
	for _, l := range lines[1:] {
		name, _, _ := strings.Cut(l, ":")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "transfer-encoding", "content-length", "connection":
			continue
		}
		b.WriteString(l)
		b.WriteString("\r\n")
	}
	b.WriteString("Connection: close\r\n\r\n")
	return []byte(b.String())
}
