package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/textproto"
	"strconv"
	"strings"
)

// teTransport is the upstream transport: http.Transport, and for a GET or
// HEAD whose response it refuses for a transfer coding it does not know
// (it supports chunked only), the same request once more on a connection
// of its own whose response is read by hand (RFC 9112 §6.3: when chunked
// is not the final coding, the body lasts until the connection closes).
// Without it such a response would be a 502.
type teTransport struct {
	*http.Transport
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

func (t *teTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := t.Transport.RoundTrip(r)
	if err == nil || !strings.Contains(err.Error(), "unsupported transfer encoding") ||
		(r.Method != http.MethodGet && r.Method != http.MethodHead) || (r.Body != nil && r.Body != http.NoBody) {
		return res, err
	}
	return t.rawRoundTrip(r)
}

// rawRoundTrip sends r on a new connection with Connection: close and reads
// the response itself: the transfer codings are dropped from the header, a
// final chunked coding is decoded, and otherwise the body is what the
// connection carries until it closes (an unknown coding cannot be
// decoded, so the bytes pass as they are).
func (t *teTransport) rawRoundTrip(r *http.Request) (*http.Response, error) {
	ctx := r.Context()
	addr := r.URL.Host
	if r.URL.Port() == "" {
		if r.URL.Scheme == "https" {
			addr = net.JoinHostPort(r.URL.Hostname(), "443")
		} else {
			addr = net.JoinHostPort(r.URL.Hostname(), "80")
		}
	}
	conn, err := t.dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if r.URL.Scheme == "https" {
		cfg := &tls.Config{ServerName: r.URL.Hostname()}
		if t.TLSClientConfig != nil {
			cfg = t.TLSClientConfig.Clone()
			if cfg.ServerName == "" {
				cfg.ServerName = r.URL.Hostname()
			}
		}
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = conn.Close()
			return nil, err
		}
		conn = tc
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	out := r.Clone(ctx)
	out.Close = true
	out.Header.Set("Connection", "close")
	if err := out.Write(conn); err != nil {
		stop()
		_ = conn.Close()
		return nil, err
	}
	br := bufio.NewReader(conn)
	tp := textproto.NewReader(br)
	line, err := tp.ReadLine()
	if err != nil {
		stop()
		_ = conn.Close()
		return nil, err
	}
	proto, status, ok := strings.Cut(line, " ")
	code, cerr := strconv.Atoi(strings.SplitN(status, " ", 2)[0])
	if !ok || !strings.HasPrefix(proto, "HTTP/1.") || cerr != nil || code < 100 || code > 999 {
		stop()
		_ = conn.Close()
		return nil, fmt.Errorf("tiercache-proxy: malformed status line %q", line)
	}
	mh, err := tp.ReadMIMEHeader()
	if err != nil {
		stop()
		_ = conn.Close()
		return nil, err
	}
	h := http.Header(mh)
	codings := strings.Split(strings.Join(h["Transfer-Encoding"], ","), ",")
	delete(h, "Transfer-Encoding")
	delete(h, "Content-Length") // ignored when Transfer-Encoding is present (RFC 9112 §6.3)
	var body io.Reader = br
	if last := strings.ToLower(strings.TrimSpace(codings[len(codings)-1])); last == "chunked" {
		if len(codings) > 1 {
			stop()
			_ = conn.Close()
			return nil, errors.New("tiercache-proxy: transfer codings before chunked are not supported")
		}
		body = httputil.NewChunkedReader(br)
	}
	if r.Method == http.MethodHead || code == http.StatusNoContent || code == http.StatusNotModified {
		body = http.NoBody
	}
	return &http.Response{
		Status: status, StatusCode: code, Proto: proto, ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: &connBody{Reader: body, conn: conn, stop: stop}, ContentLength: -1,
		Close: true, Request: r,
	}, nil
}

// connBody is a response body that closes its connection.
type connBody struct {
	io.Reader
	conn net.Conn
	stop func() bool
}

func (b *connBody) Close() error {
	b.stop()
	return b.conn.Close()
}
