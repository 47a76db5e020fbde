package faultproxy_test

import (
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/tiercache/tiercache/internal/faultproxy"
)

// ExampleNew proxies a TCP echo server, then blackholes and heals the proxy.
// Tests use Start, which closes the proxy in t.Cleanup.
func ExampleNew() {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()

	px, err := faultproxy.New(ln.Addr().String())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer px.Close()

	roundTrip := func(msg string) error {
		c, err := net.Dial("tcp", px.Addr)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(100 * time.Millisecond))
		if _, err := io.WriteString(c, msg); err != nil {
			return err
		}
		buf := make([]byte, len(msg))
		_, err = io.ReadFull(c, buf)
		return err
	}

	fmt.Println("normal:", roundTrip("hello"))
	px.Blackhole()
	fmt.Println("blackholed, timed out:", os.IsTimeout(roundTrip("hello")))
	px.Heal()
	fmt.Println("healed:", roundTrip("hello"))
	// Output:
	// normal: <nil>
	// blackholed, timed out: true
	// healed: <nil>
}
