package main

// groups declares the benchmark groups the table knows: what each measures,
// how each implementation is measured (codec, API), and the targets.
//
// A benchmark named Benchmark<Group>/<impl> in any package of the bench
// module lands in group <Group>; the impl "limit" is the group's limit, the
// row every other row's ratio is taken to. A group missing from this table
// is still printed (after these, in the order its benchmarks ran), with
// ratios when it has a limit, without descriptions or targets. Group names
// must be unique across the bench module. See bench/README.md.
var groups = []Group{
	{
		Name:  "LocalHit",
		Title: "local hit, struct value, 1024 keys",
		Impls: map[string]string{
			"limit":               "RWMutex-guarded map[string]V",
			"tiercache":           "Cache[V].Get, local tier (values kept decoded)",
			"gorediscache":        "go-redis/cache v9 Get, TinyLFU local cache (msgpack decoded on every hit)",
			"otter":               "otter v2 GetIfPresent, 1h TTL (ExpiryWriting), precise clock",
			"otter-coarseclock":   "otter v2 GetIfPresent, 1h TTL, NewCoarseClock(1ms) (tiercache's resolution)",
			"golanglru-expirable": "golang-lru/v2 expirable.LRU Get, 1h TTL (one mutex)",
			"ristretto":           "ristretto v2 Get, 1h TTL (SetWithTTL, Wait, every key checked present)",
			"rueidis":             "rueidis DoCache GET, client-side cache (tracking), the raw JSON string",
			"rueidis-msgpack":     "rueidis DoCache GET, client-side cache, msgpack decoded into V on every hit",
		},
		Targets: []Target{
			{Impl: "tiercache", Kind: WithinLimit, X: 2},
			{Impl: "tiercache", Kind: FasterThan, Peer: "gorediscache", X: 10},
			{Impl: "tiercache", Kind: NoAllocs},
		},
	},
	{
		Name:  "LocalHitParallel",
		Title: "local hit from GOMAXPROCS goroutines (b.RunParallel)",
		Impls: map[string]string{
			"limit":               "RWMutex-guarded map[string]V",
			"tiercache":           "Cache[V].Get, local tier",
			"gorediscache":        "go-redis/cache v9 Get, TinyLFU local cache (msgpack)",
			"otter":               "otter v2 GetIfPresent, 1h TTL, precise clock",
			"otter-coarseclock":   "otter v2 GetIfPresent, 1h TTL, NewCoarseClock(1ms)",
			"golanglru-expirable": "golang-lru/v2 expirable.LRU Get, 1h TTL",
			"ristretto":           "ristretto v2 Get, 1h TTL",
			"rueidis":             "rueidis DoCache GET, client-side cache, raw string",
			"rueidis-msgpack":     "rueidis DoCache GET, client-side cache, msgpack decoded",
		},
		Targets: []Target{
			{Impl: "tiercache", Kind: WithinLimit, X: 2},
			{Impl: "tiercache", Kind: FasterThan, Peer: "gorediscache", X: 10},
			{Impl: "tiercache", Kind: NoAllocs},
		},
	},
	{
		Name:  "RemoteHit",
		Title: "remote hit, string value (~70 B), one GET",
		Impls: map[string]string{
			"limit":        "raw go-redis GET of tiercache's key (same bytes)",
			"tiercache":    "Cache[string].Get, LocalTTL -1, String codec",
			"gorediscache": "go-redis/cache v9 Get, no local cache (strings stored raw)",
			"rueidis":      "rueidis Do GET of tiercache's key, no client-side cache",
		},
		Targets: []Target{
			{Impl: "tiercache", Kind: WithinLimit, X: 1.15},
		},
	},
	{
		Name:  "RemoteHitStruct",
		Title: "remote hit, struct value, msgpack decode",
		Impls: map[string]string{
			"limit":        "raw GET of tiercache's key + msgpack.Unmarshal of its payload",
			"tiercache":    "Cache[V].Get, LocalTTL -1, Msgpack codec",
			"gorediscache": "go-redis/cache v9 Get, no local cache (msgpack)",
		},
	},
	{
		Name:  "GetMany100",
		Title: "100 string values from Redis in one call",
		Impls: map[string]string{
			"limit":        "raw go-redis MGET of the 100 keys tiercache reads",
			"tiercache":    "Cache[string].GetMany, LocalTTL -1, String codec",
			"gorediscache": "go-redis/cache v9 Get in a loop (no batch read: 100 round trips)",
			"rueidis":      "rueidis Do MGET of the 100 keys tiercache reads, no client-side cache",
		},
		Targets: []Target{
			{Impl: "tiercache", Kind: WithinLimit, X: 1.15},
		},
	},
	{
		Name:  "GetManyLocal100",
		Title: "100 struct values held in process, in one call",
		Impls: map[string]string{
			"limit":     "one RLock over the RWMutex map, 100 lookups copied into a result map",
			"tiercache": "Cache[V].GetMany, every key in the local tier",
			"rueidis":   "rueidis MGetCache, every key in the client-side cache (raw strings)",
		},
	},
	{
		Name:  "LocalHitZipfParallel",
		Title: "local hit from GOMAXPROCS goroutines, Zipf-distributed keys (s 1.1, 1024 keys)",
		Impls: map[string]string{
			"limit":           "RWMutex-guarded map[string]V",
			"limit-1proc":     "the same at GOMAXPROCS 1",
			"tiercache":       "Cache[V].Get, local tier. Target: its gain from the 2nd CPU (tiercache-1proc / tiercache) within 1.2× of otter's (otter-1proc / otter)",
			"tiercache-1proc": "the same at GOMAXPROCS 1",
			"otter":           "otter v2 GetIfPresent, 1h TTL",
			"otter-1proc":     "the same at GOMAXPROCS 1",
		},
	},
	{
		Name:  "LocalHitLarge",
		Title: "local hit, struct value, 100,000 keys read in turn",
		Impls: map[string]string{
			"limit":     "RWMutex-guarded map[string]V",
			"tiercache": "Cache[V].Get, local tier (MaxEntries 200,000)",
			"otter":     "otter v2 GetIfPresent, 1h TTL",
		},
		Targets: []Target{
			{Impl: "tiercache", Kind: WithinLimit, X: 1.3},
		},
	},
	{
		Name:  "ColdLoad",
		Title: "load of a key absent from Redis and every local tier (a fresh key per op, trivial loader)",
		Impls: map[string]string{
			"limit":        "go-redis GET (miss) + SET of the loaded value",
			"tiercache":    "Cache[string].GetOrLoad, default options (lease, fenced fill, local copy kept)",
			"rueidisaside": "rueidisaside Get: DoCache GET, SET NX lock, loader, script swapping the lock for the value",
		},
		Targets: []Target{
			{Impl: "tiercache", Kind: AtMost, X: 2, Unit: "round-trips/op"},
		},
	},
	{
		Name:  "Stampede1000",
		Title: "1,000 callers on one cold key, 500 on each of 2 clients; an op is the whole stampede",
		Impls: map[string]string{
			"tiercache":    "GetOrLoad on 2 Stores: singleflight in each, the fleet-wide lease between them",
			"rueidisaside": "Get on 2 clients: a flight per client, a SET NX lock in Redis between them",
		},
		Targets: []Target{
			{Impl: "tiercache", Kind: AtMost, X: 1, Unit: "loads/op"},
		},
	},
	{
		Name:  "MemoryPerEntry",
		Title: "live heap per entry, 100,000 entries (10-byte key, 100-byte string value); × limit in heap-B/entry",
		Unit:  "heap-B/entry",
		Impls: map[string]string{
			"limit":     "map[string]string",
			"tiercache": "Cache[string] local tier, String codec, local-only Store (MaxEntries 200,000)",
			"otter":     "otter v2, MaximumSize 200,000, 1h TTL",
			"rueidis":   "rueidis client-side cache, filled by DoMultiCache reads (connections opened first)",
		},
		Targets: []Target{
			{Impl: "tiercache", Kind: WithinLimit, X: 1.3, Unit: "heap-B/entry"},
		},
	},
}

// Group describes one benchmark group.
type Group struct {
	// Name is the <Group> of Benchmark<Group>/<impl>.
	Name string
	// Title says what the group measures; it heads the group's rows.
	Title string
	// Impls says how each implementation is measured (API, codec); the
	// key is the <impl> of the benchmark name.
	Impls map[string]string
	// Targets are the goals the table checks for this group.
	Targets []Target
	// Unit is the unit the "× limit" column is taken in: "" for ns/op,
	// or a custom metric's (b.ReportMetric), such as "heap-B/entry" for a
	// group that measures memory.
	Unit string
}

// Kind is the kind of a Target.
type Kind int

const (
	// WithinLimit: Impl's ns/op is at most X times the limit's.
	WithinLimit Kind = iota + 1
	// FasterThan: Peer's ns/op is at least X times Impl's.
	FasterThan
	// NoAllocs: Impl allocates nothing per operation.
	NoAllocs
	// AtMost: Impl's custom metric Unit (median over the runs) is at most
	// X, such as 2 round-trips/op.
	AtMost
)

// Target is one goal for one implementation of a group.
type Target struct {
	Impl string
	Kind Kind
	X    float64
	Peer string // for FasterThan
	// Unit is the metric the target is about: for WithinLimit and
	// FasterThan, "" means ns/op; for AtMost it is required.
	Unit string
}
