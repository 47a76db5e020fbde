package httpcache

import (
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// writerMode says where a forwarded response goes.
type writerMode uint8

const (
	// modeClient: status line and body stream to the client as the handler
	// writes them (and are captured when the response is being stored).
	modeClient writerMode = iota
	// modeClient304: the client's precondition matched the response, so it
	// got a 304; the body is only captured.
	modeClient304
	// modeIntercept: nothing goes to the client now (a 304 or an error
	// answering a revalidation, or a background revalidation); the cache
	// answers once the handler returns.
	modeIntercept
)

// captureWriter is the ResponseWriter a handler gets for a forwarded GET or
// HEAD. It streams to the client while capturing the body once, only when
// the response is to be stored, and only up to the size limit (past it the
// capture is dropped and the response keeps streaming). It supports
// flushing (http.Flusher and http.ResponseController, through FlushError
// and Unwrap) and passes 1xx interim responses through.
type captureWriter struct {
	ex   *exchange
	w    http.ResponseWriter // the client; nil for a background revalidation
	hdr  http.Header         // what the handler writes
	sent http.Header         // hdr as it was at the status line
	pump *pump               // writes a captured response to the client without holding up the handler

	committed bool
	status    int
	respTime  time.Time
	mode      writerMode

	capture   bool
	buf       []byte
	limit     int
	declared  int64 // the Content-Length the handler declared; -1 for none
	written   int64 // body bytes written by the handler
	clientErr error
}

var (
	_ http.ResponseWriter = (*captureWriter)(nil)
	_ http.Flusher        = (*captureWriter)(nil)
)

func (cw *captureWriter) Header() http.Header { return cw.hdr }

func (cw *captureWriter) WriteHeader(code int) {
	if cw.committed {
		return
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		cw.interim(code)
		return
	}
	cw.committed = true
	cw.status = code
	cw.respTime = cw.ex.c.now()
	cw.ex.onHeader(cw)
}

// interim passes a 1xx response through to the client with the fields the
// handler set for it, leaving the client's header map as it was.
func (cw *captureWriter) interim(code int) {
	if cw.w == nil {
		return
	}
	h := cw.w.Header()
	saved := h.Clone()
	clear(h)
	for k, v := range cw.hdr {
		h[k] = v
	}
	cw.w.WriteHeader(code)
	clear(h)
	for k, v := range saved {
		h[k] = v
	}
}

func (cw *captureWriter) Write(p []byte) (int, error) {
	if !cw.committed {
		cw.WriteHeader(http.StatusOK)
	}
	cw.written += int64(len(p))
	if cw.capture {
		cw.keep(p)
		if cw.capture {
			if cw.pump != nil {
				cw.pump.feed(cw.buf, false)
			}
			return len(p), nil
		}
		// The capture was just dropped: the client gets the rest directly.
	}
	if cw.mode != modeClient || cw.w == nil {
		return len(p), nil
	}
	if cw.clientErr != nil {
		return 0, cw.clientErr
	}
	n, err := cw.w.Write(p)
	if err != nil {
		cw.clientErr = err
	}
	return n, err
}

// keep appends p to the capture, or drops the capture when it would pass the
// size limit.
func (cw *captureWriter) keep(p []byte) {
	if len(cw.buf)+len(p) > cw.limit {
		cw.ex.c.stats.tooBig.Add(1)
		cw.drop()
		return
	}
	cw.buf = append(cw.buf, p...)
}

// drop stops capturing and releases the requests waiting for this one. What
// was captured and not yet written to the client is written first.
func (cw *captureWriter) drop() {
	cw.ex.release()
	if err := cw.stopPump(); err != nil {
		cw.clientErr = err
	}
	cw.capture, cw.buf = false, nil
}

// startPump starts writing the capture to the client from a goroutine of
// its own, so that a slow client does not hold up the fill that the
// requests waiting on this one and the Store need.
//
// With a declared Content-Length, the pump holds the body's last byte (and
// a flush that would end a response of length 0) until it is stopped,
// after the response is stored: a client has its response in full only
// once the Store holds it and its tags are indexed, so a purge it sends
// next removes it. Without one, the response ends when the handler
// returns, after the Store is written, all the same.
func (cw *captureWriter) startPump() {
	p := &pump{w: cw.w, done: make(chan struct{}), keep: -1}
	if cw.declared >= 0 {
		p.keep = max(int(cw.declared)-1, 0)
	}
	p.cond.L = &p.mu
	cw.pump = p
	go p.run()
}

// pumpFlush asks the pump to flush once it has written what is captured.
func (cw *captureWriter) pumpFlush() {
	if cw.pump != nil {
		cw.pump.feed(cw.buf, true)
	}
}

// stopPump lets the pump write what is captured, waits for it and returns
// the client's error, if any. The client's ResponseWriter is the caller's
// again afterwards.
func (cw *captureWriter) stopPump() error {
	p := cw.pump
	if p == nil {
		return nil
	}
	cw.pump = nil
	p.mu.Lock()
	if cw.capture {
		p.buf = cw.buf
	}
	p.closed = true
	p.cond.Signal()
	p.mu.Unlock()
	<-p.done
	return p.err
}

// FlushError flushes what was written to the client.
func (cw *captureWriter) FlushError() error {
	if !cw.committed {
		cw.WriteHeader(http.StatusOK)
	}
	if cw.mode != modeClient || cw.w == nil {
		return nil
	}
	if cw.pump != nil {
		cw.pumpFlush()
		return nil
	}
	return http.NewResponseController(cw.w).Flush()
}

// Flush implements http.Flusher.
func (cw *captureWriter) Flush() { _ = cw.FlushError() }

// pump writes a growing capture buffer to the client. The handler appends
// to the buffer and feeds the pump its new length; bytes once appended are
// never changed, so the pump writes them without holding the lock.
type pump struct {
	w      http.ResponseWriter
	mu     sync.Mutex
	cond   sync.Cond
	buf    []byte // the capture as far as it was fed
	n      int    // bytes of buf written to the client
	keep   int    // bytes it may write before it is closed; -1 for all
	flush  bool   // a flush is wanted once buf is written
	closed bool
	err    error
	done   chan struct{}
}

func (p *pump) feed(buf []byte, flush bool) {
	p.mu.Lock()
	p.buf = buf
	p.flush = p.flush || flush
	p.cond.Signal()
	p.mu.Unlock()
}

func (p *pump) run() {
	defer close(p.done)
	p.mu.Lock()
	for {
		for p.n == p.writable() && !p.flushable() && !p.closed {
			p.cond.Wait()
		}
		chunk, flush := p.buf[p.n:p.writable()], p.flushable()
		if len(chunk) == 0 && !flush {
			p.mu.Unlock()
			return // closed, everything written
		}
		if flush {
			p.flush = false
		}
		p.mu.Unlock()
		var err error
		if len(chunk) > 0 {
			_, err = p.w.Write(chunk)
		}
		if err == nil && flush {
			if ferr := http.NewResponseController(p.w).Flush(); !errors.Is(ferr, http.ErrNotSupported) {
				err = ferr
			}
		}
		p.mu.Lock()
		p.n += len(chunk)
		if err != nil {
			p.err = err
			p.mu.Unlock()
			return // the client is gone: the fill goes on without it
		}
	}
}

// writable is how much of buf the pump may have written: all of it once
// closed, else up to keep. Called with mu held.
func (p *pump) writable() int {
	if p.closed || p.keep < 0 || len(p.buf) <= p.keep {
		return len(p.buf)
	}
	return p.keep
}

// flushable reports whether a wanted flush may be done now: not while
// nothing may be written before close, when it would only end a response
// of length 0 or 1 early. Called with mu held.
func (p *pump) flushable() bool { return p.flush && (p.closed || p.keep != 0) }

// Unwrap returns the client's ResponseWriter for http.ResponseController
// (deadlines, hijacking); nil for a background revalidation.
func (cw *captureWriter) Unwrap() http.ResponseWriter { return cw.w }

// reservation sizes the capture buffer from Content-Length, so that a body
// of known length is captured without regrowing. It reports false when the
// declared length is over the limit (nothing is captured then).
func (cw *captureWriter) reservation() bool {
	cw.declared = -1
	cl := cw.hdr.Get("Content-Length")
	if cl == "" {
		return true
	}
	n, err := strconv.ParseInt(cl, 10, 64)
	if err != nil || n < 0 {
		return false
	}
	if n > int64(cw.limit) {
		cw.ex.c.stats.tooBig.Add(1)
		return false
	}
	cw.buf = make([]byte, 0, n)
	cw.declared = n
	return true
}

// passWriter forwards a response untouched, adding this cache's
// Cache-Status and noting the status, for requests the cache does not
// serve (unsafe methods, bypassed requests).
type passWriter struct {
	w        http.ResponseWriter
	status   int
	onHeader func(h http.Header, status int)
}

var _ http.Flusher = (*passWriter)(nil)

func (p *passWriter) Header() http.Header { return p.w.Header() }

func (p *passWriter) WriteHeader(code int) {
	if p.status != 0 {
		return
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		p.w.WriteHeader(code)
		return
	}
	p.status = code
	if p.onHeader != nil {
		p.onHeader(p.w.Header(), code)
	}
	p.w.WriteHeader(code)
}

func (p *passWriter) Write(b []byte) (int, error) {
	if p.status == 0 {
		p.WriteHeader(http.StatusOK)
	}
	return p.w.Write(b)
}

// FlushError flushes to the client.
func (p *passWriter) FlushError() error {
	if p.status == 0 {
		p.WriteHeader(http.StatusOK)
	}
	return http.NewResponseController(p.w).Flush()
}

// Flush implements http.Flusher.
func (p *passWriter) Flush() { _ = p.FlushError() }

// Unwrap returns the client's ResponseWriter for http.ResponseController.
func (p *passWriter) Unwrap() http.ResponseWriter { return p.w }
