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
			"limit":        "RWMutex-guarded map[string]V",
			"tiercache":    "Cache[V].Get, local tier (values kept decoded)",
			"gorediscache": "go-redis/cache v9 Get, TinyLFU local cache (msgpack decoded on every hit)",
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
			"limit":        "RWMutex-guarded map[string]V",
			"tiercache":    "Cache[V].Get, local tier",
			"gorediscache": "go-redis/cache v9 Get, TinyLFU local cache (msgpack)",
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
		},
		Targets: []Target{
			{Impl: "tiercache", Kind: WithinLimit, X: 1.2},
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
