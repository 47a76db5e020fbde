// Command tiercache-proxy is a caching reverse proxy: an RFC 9111 shared
// cache (package httpcache) in front of one upstream, on
// net/http/httputil.ReverseProxy.
//
//	tiercache-proxy -listen 127.0.0.1:8080 -upstream http://127.0.0.1:8000 [-redis redis://127.0.0.1:6379/0]
//
// -redis takes one server (redis://[user:password@]host:port/db, rediss://
// for TLS), a Cluster (redis+cluster://host:port?addr=host2:port2&addr=...,
// rediss+cluster:// for TLS: the seed nodes) or a Sentinel-managed master
// (redis+sentinel://host:port?master_name=NAME&addr=host2:port2, the
// sentinels; rediss+sentinel:// for TLS). The query parameters are
// go-redis's (ParseURL, ParseClusterURL, ParseFailoverURL): dial_timeout,
// read_timeout, pool_size...
//
// With -admin ADDR a second listener serves /healthz (the process is up),
// /readyz (200 once the Store's invalidation connections are subscribed, so
// that the local tier is coherent with Redis; 503 before), /metrics
// (Prometheus text) and, with a bearer token (TIERCACHE_ADMIN_TOKEN or
// -admin-token-file), POST /purge?url=URL and POST /purge?tag=TAG. It is
// off by default; bind it to a private address.
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
	"crypto/subtle"
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
	"github.com/tiercache/tiercache/otelmetrics"
	"github.com/tiercache/tiercache/otelmetrics/prom"
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

	readHeaderTimeout time.Duration
	readTimeout       time.Duration
	writeTimeout      time.Duration
	idleTimeout       time.Duration
	upstreamTimeout   time.Duration

	requestCookie httpcache.CookiePolicy
	routing       httpcache.RoutingPolicy
	maxVariants   int
	integrityKey  []byte

	admin      string
	adminToken string
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
	fs.DurationVar(&c.readHeaderTimeout, "read-header-timeout", 10*time.Second, "longest a client may take to send a request's header")
	fs.DurationVar(&c.readTimeout, "read-timeout", time.Minute, "longest a client may take to send a whole request, body included (0: no limit)")
	fs.DurationVar(&c.writeTimeout, "write-timeout", 5*time.Minute, "longest a response may take to reach its client, from the end of its request's header (0: no limit; streams such as server-sent events need it)")
	fs.DurationVar(&c.idleTimeout, "idle-timeout", 2*time.Minute, "longest a keep-alive connection waits for its next request")
	fs.DurationVar(&c.upstreamTimeout, "upstream-timeout", time.Minute, "longest the upstream may take to answer with a header (0: no limit)")
	var requestCookie, routing, integrityFile, tokenFile string
	fs.StringVar(&requestCookie, "request-cookie", "shared", "responses to requests with Cookie: shared (stored only when public, s-maxage, must-revalidate or Vary: Cookie), ignore (stored as any other) or bypass (never stored)")
	fs.StringVar(&routing, "routing", "strip", "routing fields (X-Original-URL, X-HTTP-Method-Override, X-Forwarded-*...) on cached requests: strip (removed before the upstream) or key (part of the cache key)")
	fs.IntVar(&c.maxVariants, "max-variants", httpcache.DefaultMaxVariants, "most Vary variants stored per URL (negative: no limit)")
	fs.StringVar(&integrityFile, "integrity-key-file", "", "file holding the key (at least 16 bytes, the same for every proxy of the Redis) that authenticates stored entries; empty: none")
	fs.StringVar(&c.admin, "admin", "", "address of the admin listener (/healthz, /readyz, /metrics, /purge); empty: none")
	fs.StringVar(&tokenFile, "admin-token-file", "", "file holding the bearer token of /purge (else $TIERCACHE_ADMIN_TOKEN; without either /purge is refused)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	switch requestCookie {
	case "shared":
		c.requestCookie = httpcache.CookieRequireShared
	case "ignore":
		c.requestCookie = httpcache.CookieIgnore
	case "bypass":
		c.requestCookie = httpcache.CookieBypass
	default:
		return c, fmt.Errorf("-request-cookie %q: want shared, ignore or bypass", requestCookie)
	}
	switch routing {
	case "strip":
		c.routing = httpcache.RoutingStrip
	case "key":
		c.routing = httpcache.RoutingKey
	default:
		return c, fmt.Errorf("-routing %q: want strip or key", routing)
	}
	if integrityFile != "" {
		b, err := os.ReadFile(integrityFile)
		if err != nil {
			return c, fmt.Errorf("-integrity-key-file: %w", err)
		}
		c.integrityKey = []byte(strings.TrimSpace(string(b)))
	}
	c.adminToken = os.Getenv("TIERCACHE_ADMIN_TOKEN")
	if tokenFile != "" {
		b, err := os.ReadFile(tokenFile)
		if err != nil {
			return c, fmt.Errorf("-admin-token-file: %w", err)
		}
		c.adminToken = strings.TrimSpace(string(b))
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
	admin   http.Handler // nil without -admin
	cache   *httpcache.Cache
	store   *cache.Store
	rdb     redis.UniversalClient
	metrics *prom.Metrics // nil without -admin
}

// redisClient connects to what a -redis URL names: a server, a Cluster
// (redis+cluster://, rediss+cluster://) or a Sentinel-managed master
// (redis+sentinel://, rediss+sentinel://).
func redisClient(raw string) (redis.UniversalClient, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return nil, fmt.Errorf("-redis %q: want a URL such as redis://host:port/0", redacted(raw))
	}
	base, kind, _ := strings.Cut(scheme, "+")
	if base != "redis" && base != "rediss" {
		return nil, fmt.Errorf("-redis %q: unknown scheme %q (redis, rediss, redis+cluster, redis+sentinel)", redacted(raw), scheme)
	}
	u := base + "://" + rest
	switch kind {
	case "":
		o, err := redis.ParseURL(u)
		if err != nil {
			return nil, fmt.Errorf("-redis: %w", err)
		}
		return redis.NewClient(o), nil
	case "cluster":
		o, err := redis.ParseClusterURL(u)
		if err != nil {
			return nil, fmt.Errorf("-redis: %w", err)
		}
		return redis.NewClusterClient(o), nil
	case "sentinel":
		o, err := redis.ParseFailoverURL(u)
		if err != nil {
			return nil, fmt.Errorf("-redis: %w", err)
		}
		if o.MasterName == "" {
			return nil, fmt.Errorf("-redis: a redis+sentinel URL needs master_name")
		}
		return redis.NewFailoverClient(o), nil
	}
	return nil, fmt.Errorf("-redis %q: unknown scheme %q (redis, rediss, redis+cluster, redis+sentinel)", redacted(raw), scheme)
}

func newProxy(c config, logger *slog.Logger) (*proxy, error) {
	p := &proxy{}
	if c.redisURL != "" {
		rdb, err := redisClient(c.redisURL)
		if err != nil {
			return nil, err
		}
		p.rdb = rdb
	}
	store, err := cache.NewStore(p.rdb, cache.StoreOptions{Logger: logger})
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
		RequestCookie:   c.requestCookie,
		Routing:         c.routing,
		MaxVariants:     c.maxVariants,
		IntegrityKey:    c.integrityKey,
		Logger:          logger,
		Redis:           p.rdb,
	})
	if err != nil {
		p.close()
		return nil, err
	}
	p.handler = p.cache.Handler(reverseProxy(c, logger))
	if c.admin != "" {
		metrics, err := p.metricsHandler()
		if err != nil {
			p.close()
			return nil, err
		}
		p.admin = p.adminHandler(c.adminToken, metrics)
	}
	return p, nil
}

// metricsHandler is what the admin listener serves at /metrics: the
// Store's metrics (otelmetrics) and the Cache's counters
// (otelmetrics.AttachHTTP) in the Prometheus text and OpenMetrics formats.
// close detaches them.
func (p *proxy) metricsHandler() (http.Handler, error) {
	h, m, err := prom.Handler(p.store, otelmetrics.Options{})
	if err != nil {
		return nil, err
	}
	p.metrics = m
	if err := m.AttachHTTP(p.cache); err != nil {
		return nil, err
	}
	return h, nil
}

// adminHandler serves the admin endpoints: /healthz, /readyz, /metrics,
// and /purge behind the bearer token (refused when there is none).
func (p *proxy) adminHandler(token string, metrics http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if p.rdb != nil && !p.cache.StoreStats().Coherent {
			http.Error(w, "not ready: the Store's invalidation connections are not all subscribed", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ready\n")
	})
	mux.Handle("GET /metrics", metrics)
	mux.HandleFunc("POST /purge", func(w http.ResponseWriter, r *http.Request) {
		if !authorized(r, token) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="tiercache-proxy"`)
			http.Error(w, "a valid bearer token is required", http.StatusUnauthorized)
			return
		}
		q := r.URL.Query()
		var err error
		switch {
		case q.Get("url") != "" && q.Get("tag") == "":
			err = p.cache.PurgeURL(r.Context(), q.Get("url"))
		case q.Get("tag") != "" && q.Get("url") == "":
			err = p.cache.PurgeTag(r.Context(), q.Get("tag"))
		default:
			http.Error(w, "want one of ?url=URL or ?tag=TAG", http.StatusBadRequest)
			return
		}
		switch {
		case errors.Is(err, httpcache.ErrInvalidURL), errors.Is(err, httpcache.ErrEmptyTag):
			http.Error(w, err.Error(), http.StatusBadRequest)
		case err != nil:
			http.Error(w, err.Error(), http.StatusBadGateway)
		default:
			_, _ = io.WriteString(w, "purged\n")
		}
	})
	return mux
}

// authorized checks the request's bearer token in constant time; no token
// configured refuses everyone.
func authorized(r *http.Request, token string) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && token != "" && subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1
}

// reverseProxy forwards to the upstream. Transport failures (refused or
// dropped connections, timeouts) become a 502; the Transport opens new
// connections for the next requests, so the proxy recovers with the
// upstream.
func reverseProxy(c config, logger *slog.Logger) *httputil.ReverseProxy {
	dial := (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           teDialer(dial), // responses with an unknown transfer coding are read, not refused
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: time.Second,
		ResponseHeaderTimeout: c.upstreamTimeout,
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
	if p.metrics != nil {
		_ = p.metrics.Close()
	}
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
	srv := newServer(c, p.handler, logger)
	logger.Info("tiercache-proxy: listening", "addr", ln.Addr().String(), "upstream", c.upstream.String(), "redis", redacted(c.redisURL))
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	var adm *http.Server
	if p.admin != nil {
		aln, err := net.Listen("tcp", c.admin)
		if err != nil {
			_ = srv.Close()
			return fmt.Errorf("-admin: %w", err)
		}
		adm = newServer(c, p.admin, logger)
		logger.Info("tiercache-proxy: admin listening", "addr", aln.Addr().String(), "purge", c.adminToken != "")
		go func() { errc <- adm.Serve(aln) }()
	}
	select {
	case err := <-errc:
		_ = srv.Close()
		if adm != nil {
			_ = adm.Close()
		}
		return err
	case <-ctx.Done():
	}
	logger.Info("tiercache-proxy: shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), c.shutdownTimeout)
	defer cancel()
	if adm != nil {
		_ = adm.Shutdown(sctx)
	}
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// newServer is an http.Server with the configured timeouts: a client that
// sends its header, its body or reads its response too slowly, or idles
// too long, is cut off.
func newServer(c config, h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: c.readHeaderTimeout,
		ReadTimeout:       c.readTimeout,
		WriteTimeout:      c.writeTimeout,
		IdleTimeout:       c.idleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
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
