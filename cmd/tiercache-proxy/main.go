// Command tiercache-proxy is a caching reverse proxy: an RFC 9111 shared
// cache (package httpcache) in front of one upstream, on
// net/http/httputil.ReverseProxy.
//
//	tiercache-proxy -listen 127.0.0.1:8080 -upstream http://127.0.0.1:8000 [-redis redis://127.0.0.1:6379/0]
//
// Without -redis the cache lives in the process alone; with it, every proxy
// on the same Redis shares what any of them stored, and a purge or an
// invalidation in one reaches all. Nothing is stored without explicit
// freshness or a validator (there is no default TTL; only the heuristic
// freshness RFC 9111 allows for responses with Last-Modified). 1xx interim
// responses pass through; an upstream that drops connections gets a 502
// until it recovers (or the stale response, within -stale-if-error).
// SIGINT and SIGTERM shut it down gracefully.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/httpcache"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "tiercache-proxy:", err)
		}
		os.Exit(2)
	}
}

// config is the command line.
type config struct {
	listen          string
	upstream        *url.URL
	redisURL        string
	preserveHost    bool
	maxBody         int
	maxTTL          time.Duration
	staleIfError    time.Duration
	targeted        string
	setCookie       httpcache.SetCookiePolicy
	name            string
	shutdownTimeout time.Duration
	verbose         bool
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	var upstream, setCookie string
	fs := flag.NewFlagSet("tiercache-proxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.listen, "listen", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&upstream, "upstream", "", "upstream base URL (required), such as http://127.0.0.1:8000")
	fs.StringVar(&c.redisURL, "redis", "", "Redis URL (redis://host:port/db) to share the cache; empty: this process only")
	fs.BoolVar(&c.preserveHost, "preserve-host", true, "send the client's Host to the upstream (else the upstream's own)")
	fs.IntVar(&c.maxBody, "max-body", httpcache.DefaultMaxBodySize, "largest body stored, in bytes")
	fs.DurationVar(&c.maxTTL, "max-ttl", httpcache.DefaultMaxTTL, "longest a response is kept, fresh or stale")
	fs.DurationVar(&c.staleIfError, "stale-if-error", time.Hour, "serve a stale response this long past its freshness when the upstream fails or answers 5xx, unless it or the request forbids (0: only when stale-if-error allows)")
	fs.StringVar(&c.targeted, "cdn-cache-control", "CDN-Cache-Control, Surrogate-Control", "targeted cache-control fields obeyed over Cache-Control (RFC 9213), in order of precedence; empty: none")
	fs.StringVar(&setCookie, "set-cookie", "bypass", "responses with Set-Cookie: bypass (not stored), strip (stored without it) or store")
	fs.StringVar(&c.name, "name", httpcache.DefaultName, "cache name in the Cache-Status header")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 10*time.Second, "how long a shutdown waits for requests in flight")
	fs.BoolVar(&c.verbose, "v", false, "log every cache and upstream error")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	u, err := url.Parse(upstream)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, fmt.Errorf("-upstream %q: want an absolute http or https URL", upstream)
	}
	c.upstream = u
	switch setCookie {
	case "bypass":
		c.setCookie = httpcache.SetCookieBypass
	case "strip":
		c.setCookie = httpcache.SetCookieStrip
	case "store":
		c.setCookie = httpcache.SetCookieStore
	default:
		return c, fmt.Errorf("-set-cookie %q: want bypass, strip or store", setCookie)
	}
	return c, nil
}

// proxy is the caching reverse proxy and what it owns.
type proxy struct {
	handler http.Handler
	cache   *httpcache.Cache
	store   *cache.Store
	rdb     *redis.Client
}

func newProxy(c config, logger *slog.Logger) (*proxy, error) {
	p := &proxy{}
	if c.redisURL != "" {
		opts, err := redis.ParseURL(c.redisURL)
		if err != nil {
			return nil, fmt.Errorf("-redis: %w", err)
		}
		p.rdb = redis.NewClient(opts)
	}
	var rdb redis.UniversalClient
	if p.rdb != nil {
		rdb = p.rdb
	}
	store, err := cache.NewStore(rdb, cache.StoreOptions{Logger: logger})
	if err != nil {
		p.close()
		return nil, err
	}
	p.store = store
	p.cache, err = httpcache.New(store, httpcache.Options{
		Name:            c.name,
		MaxBodySize:     c.maxBody,
		MaxTTL:          c.maxTTL,
		StaleIfError:    c.staleIfError,
		CDNCacheControl: c.targeted,
		SetCookie:       c.setCookie,
		Logger:          logger,
		Redis:           rdb,
	})
	if err != nil {
		p.close()
		return nil, err
	}
	p.handler = p.cache.Handler(reverseProxy(c, logger))
	return p, nil
}

// reverseProxy forwards to the upstream. Transport failures (refused or
// dropped connections, timeouts) become a 502; the Transport opens new
// connections for the next requests, so the proxy recovers with the
// upstream.
func reverseProxy(c config, logger *slog.Logger) *httputil.ReverseProxy {
	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(c.upstream)
			pr.SetXForwarded()
			if c.preserveHost {
				pr.Out.Host = pr.In.Host
			}
		},
		Transport: transport,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if c.verbose || !errors.Is(err, context.Canceled) {
				logger.Warn("tiercache-proxy: upstream request failed", "method", r.Method, "url", r.URL.String(), "error", err)
			}
			w.WriteHeader(http.StatusBadGateway)
		},
	}
}

func (p *proxy) close() {
	if p.cache != nil {
		_ = p.cache.Close()
	}
	if p.store != nil {
		_ = p.store.Close()
	}
	if p.rdb != nil {
		_ = p.rdb.Close()
	}
}

// run serves until ctx ends, then shuts down gracefully.
func run(ctx context.Context, args []string, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if c.verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	p, err := newProxy(c, logger)
	if err != nil {
		return err
	}
	defer p.close()
	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           p.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
	logger.Info("tiercache-proxy: listening", "addr", ln.Addr().String(), "upstream", c.upstream.String(), "redis", redacted(c.redisURL))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("tiercache-proxy: shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), c.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	<-errc // http.ErrServerClosed
	return nil
}

// redacted hides the password of a Redis URL for the log.
func redacted(s string) string {
	if s == "" {
		return "none (local only)"
	}
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable)"
	}
	return strings.Replace(u.Redacted(), "xxxxx", "***", 1)
}
