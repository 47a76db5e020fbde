package faultproxy

import (
	"bytes"
	"errors"
	"strconv"
	"time"
)

// This file holds the lost-reply fault: the server runs a command and its
// reply never reaches the client, which is what makes a client's resend
// run the command twice.

// DropReplies makes the proxy, on the Redis connections it accepts from now
// on, forward every command to the server but drop the reply to the nth
// command of each connection once the server has sent it (so the server
// did run it), then cut that connection: the client sees the connection
// close (io.EOF) after the replies to the commands before it. go-redis
// then reconnects and, with its default options, sends the command again.
// The connection's handshake (HELLO, CLIENT SETINFO: 3 commands with
// go-redis' defaults) counts, so n must exceed it for a command to get
// through; with n = 5 each connection answers one command after the
// handshake and drops the next. A resend arrives on a new connection, where
// it is not dropped. Push messages (RESP3 '>') are not replies and are not
// counted.
//
// n <= 0 ends the mode: connections accepted while it was on stop dropping.
// Connections accepted before the call are not parsed and never drop.
func (p *Proxy) DropReplies(n int) {
	p.dropEvery.Store(int64(max(n, 0)))
}

// Dropped returns the number of replies dropped so far by [Proxy.DropReplies].
func (p *Proxy) Dropped() int64 { return p.dropped.Load() }

// replyParser splits the server-to-client stream of one connection into
// whole RESP replies and decides which to forward.
type replyParser struct {
	p       *Proxy
	pending []byte // bytes of a reply not complete yet
	replies int64  // complete replies seen (push messages excluded)
	raw     bool   // the stream is not RESP: forward as is
}

// errIncomplete means the buffer ends inside a RESP value.
var errIncomplete = errors.New("incomplete")

// feed takes the next bytes read from the server. It returns the bytes to
// forward now and whether the connection must be cut after them (the reply
// to drop has arrived and is not among them).
func (r *replyParser) feed(data []byte) (forward []byte, cut bool) {
	if r.raw {
		return data, false
	}
	r.pending = append(r.pending, data...)
	off := 0
	for off < len(r.pending) {
		end, push, err := respValue(r.pending, off, 0)
		if errors.Is(err, errIncomplete) {
			break
		}
		if err != nil { // not RESP after all: stop parsing, drop nothing
			r.raw = true
			out := r.pending
			r.pending = nil
			return out, false
		}
		if !push {
			r.replies++
			if n := r.p.dropEvery.Load(); n > 0 && r.replies%n == 0 {
				r.p.dropped.Add(1)
				out := bytes.Clone(r.pending[:off])
				r.pending = nil
				return out, true
			}
		}
		off = end
	}
	out := bytes.Clone(r.pending[:off])
	r.pending = append(r.pending[:0], r.pending[off:]...)
	return out, false
}

// respValue parses the RESP2 or RESP3 value starting at b[off] and returns
// the offset just past it and whether it is a push message. It returns
// errIncomplete when b ends first, another error when b is not RESP.
func respValue(b []byte, off, depth int) (end int, push bool, err error) {
	if depth > 64 {
		return 0, false, errors.New("nested too deep")
	}
	if off >= len(b) {
		return 0, false, errIncomplete
	}
	nl := bytes.Index(b[off:], []byte("\r\n"))
	if nl < 0 {
		return 0, false, errIncomplete
	}
	line, next := b[off+1:off+nl], off+nl+2
	switch b[off] {
	case '+', '-', ':', '_', '#', ',', '(':
		return next, false, nil
	case '$', '!', '=': // bulk string, bulk error, verbatim string
		n, err := strconv.Atoi(string(line))
		if err != nil {
			return 0, false, err
		}
		if n < 0 {
			return next, false, nil
		}
		if next+n+2 > len(b) {
			return 0, false, errIncomplete
		}
		return next + n + 2, false, nil
	case '*', '~', '>', '%', '|': // array, set, push, map, attribute
		n, err := strconv.Atoi(string(line))
		if err != nil {
			return 0, false, err
		}
		if b[off] == '%' || b[off] == '|' {
			n *= 2
		}
		for range max(n, 0) {
			if next, _, err = respValue(b, next, depth+1); err != nil {
				return 0, false, err
			}
		}
		if b[off] == '|' { // attributes precede the value they describe
			return respValue(b, next, depth+1)
		}
		return next, b[off] == '>', nil
	}
	return 0, false, errors.New("not RESP")
}

// forwardReplies is read's loop for the server-to-client side of a link
// accepted in DropReplies mode: it queues whole replies and, when the
// reply to drop has arrived, a cut after the replies before it.
func (p *Proxy) forwardReplies(l *link, buf []byte, n int, q chan<- chunk) bool {
	out, cut := l.replies.feed(buf[:n])
	if len(out) > 0 || cut {
		select {
		case q <- chunk{at: time.Now(), data: out, cut: cut}:
		case <-l.done:
			return false
		}
	}
	return !cut
}
