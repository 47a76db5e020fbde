package httpcache

import (
	"net/http"
	"strconv"
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
	ex  *exchange
	w   http.ResponseWriter // the client; nil for a background revalidation
	hdr http.Header         // what the handler writes

	committed bool
	status    int
	respTime  time.Time
	mode      writerMode

	capture   bool
	buf       []byte
	limit     int
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
		cw.drop() // the client is gone: the handler will likely stop short
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

// drop stops capturing and releases the requests waiting for this one.
func (cw *captureWriter) drop() {
	cw.capture, cw.buf = false, nil
	cw.ex.release()
}

// FlushError flushes what was written to the client.
func (cw *captureWriter) FlushError() error {
	if !cw.committed {
		cw.WriteHeader(http.StatusOK)
	}
	if cw.mode != modeClient || cw.w == nil {
		return nil
	}
	return http.NewResponseController(cw.w).Flush()
}

// Flush implements http.Flusher.
func (cw *captureWriter) Flush() { _ = cw.FlushError() }

// Unwrap returns the client's ResponseWriter for http.ResponseController
// (deadlines, hijacking); nil for a background revalidation.
func (cw *captureWriter) Unwrap() http.ResponseWriter { return cw.w }

// reservation sizes the capture buffer from Content-Length, so that a body
// of known length is captured without regrowing. It reports false when the
// declared length is over the limit (nothing is captured then).
func (cw *captureWriter) reservation() bool {
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
