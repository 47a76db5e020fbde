package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestTEConn: on one keep-alive connection, Content-Length, chunked and
// interim responses pass untouched, and a response with an unknown final
// transfer coding is read until the connection closes.
func TestTEConn(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	conns := make(chan int, 4)
	go func() {
		n := 0
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			n++
			conns <- n
			go func() {
				defer conn.Close()
				br := bufio.NewReader(conn)
				for i := 0; ; i++ {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					_, _ = io.Copy(io.Discard, req.Body)
					switch req.URL.Path {
					case "/length":
						fmt.Fprint(conn, "HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\nTransfer-Encoding: x")
					case "/chunked":
						fmt.Fprint(conn, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nHTTP/\r\n0\r\n\r\n")
					case "/interim":
						fmt.Fprint(conn, "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
					case "/bare-lf":
						fmt.Fprint(conn, "HTTP/1.1 200 OK\nContent-Length: 2\n\nlf")
					case "/unknown":
						fmt.Fprint(conn, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, x-foo\r\nContent-Length: 3\r\nX-A: b\r\n\r\nuntil the close")
						return
					}
				}
			}()
		}
	}()
	dial := (&net.Dialer{Timeout: 5 * time.Second}).DialContext
	client := &http.Client{Transport: &http.Transport{DialContext: teDialer(dial)}}
	get := func(path string) (*http.Response, string) {
		res, err := client.Get("http://" + ln.Addr().String() + path)
		require.NoError(t, err, path)
		b, err := io.ReadAll(res.Body)
		require.NoError(t, err, path)
		_ = res.Body.Close()
		return res, string(b)
	}
	_, body := get("/length")
	require.Equal(t, "Transfer-Encoding: x", body)
	_, body = get("/chunked")
	require.Equal(t, "HTTP/", body)
	_, body = get("/interim")
	require.Equal(t, "ok", body)
	_, body = get("/bare-lf")
	require.Equal(t, "lf", body)
	res, body := get("/unknown")
	require.Equal(t, "until the close", body)
	require.Equal(t, "b", res.Header.Get("X-A"))
	require.Empty(t, res.Header.Values("Transfer-Encoding"))
	require.Equal(t, 1, <-conns)
	require.Len(t, conns, 0, "one connection for the four responses")
	require.True(t, strings.HasPrefix(string(rewriteTE([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"))), "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked"))
}

// TestTEConnSplitReads: a status line and a header block that arrive in
// pieces (net.Pipe hands each write to one read) are recognised and
// rewritten whole.
func TestTEConnSplitReads(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	c := &teConn{Conn: client}
	go func() {
		defer server.Close()
		_, _ = io.Copy(io.Discard, io.LimitReader(server, 3))
		for _, piece := range []string{"HTT", "P/1.1 200 OK\r\nTransfer-", "Encoding: x-foo\r\n", "\r\nbody"} {
			if _, err := server.Write([]byte(piece)); err != nil {
				return
			}
		}
	}()
	_, err := c.Write([]byte("GET"))
	require.NoError(t, err)
	got, err := io.ReadAll(c)
	require.NoError(t, err)
	require.Equal(t, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nbody", string(got))
}
