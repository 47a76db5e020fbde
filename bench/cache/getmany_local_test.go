package cachebench

import (
	"context"
	"fmt"
	"testing"

	"github.com/redis/rueidis"

	"github.com/tiercache/tiercache/cache"
)

// BenchmarkGetManyLocal100 reads 100 struct values, all held in process, in
// one call: tiercache's Cache.GetMany answered by its local tier, rueidis'
// MGetCache answered by its client-side cache (the raw JSON strings), and
// one read lock over the RWMutex map with the 100 lookups copied into a
// result map, as GetMany returns one (limit). Each call reads the next of
// numKeys/100 disjoint batches; every value must be a local hit of the
// right key.
func BenchmarkGetManyLocal100(b *testing.B) {
	ctx := context.Background()
	rdb := newClient(b)
	tc := newTiercache(b, rdb, cache.Options[Item]{})
	limit := &lockedMap[Item]{m: make(map[string]Item, numKeys)}
	rue := newRueidis(b, true)
	for i, k := range keys {
		limit.m[k] = itemFor(i)
		if err := tc.Set(ctx, k, itemFor(i)); err != nil {
			b.Fatal(err)
		}
		if err := rue.Do(ctx, rue.B().Set().Key(rueKeys[i]).Value(jsonValues[i]).Build()).Error(); err != nil {
			b.Fatal(err)
		}
	}
	warmLocal(b, tc)
	warmRueidis(b, rue, rueKeys)
	checkOnlyLocal(b, tc)

	const batches = numKeys / batchSize
	batch := func(ks []string, j int) []string { return ks[j*batchSize : (j+1)*batchSize] }
	check := func(j, n int) error {
		if n != batchSize {
			return fmt.Errorf("batch %d: got %d values, want %d", j, n, batchSize)
		}
		return nil
	}
	runGroup(b, map[string]op{
		"limit": func(j int) error {
			ks := batch(keys, j)
			m := make(map[string]Item, len(ks))
			limit.mu.RLock()
			for _, k := range ks {
				if v, ok := limit.m[k]; ok {
					m[k] = v
				}
			}
			limit.mu.RUnlock()
			return checkItems(m, j)
		},
		"tiercache": func(j int) error {
			m, err := tc.GetMany(ctx, batch(keys, j))
			if err != nil {
				return err
			}
			return checkItems(m, j)
		},
		"rueidis": func(j int) error {
			m, err := rueidis.MGetCache(rue, ctx, rueidisTTL, batch(rueKeys, j))
			if err != nil {
				return err
			}
			if err := check(j, len(m)); err != nil {
				return err
			}
			for i := j * batchSize; i < (j+1)*batchSize; i++ {
				msg := m[rueKeys[i]]
				s, err := msg.ToString()
				if err != nil {
					return fmt.Errorf("key %d: %w", i, err)
				}
				if !msg.IsCacheHit() {
					return errNotLocal
				}
				if s != jsonValues[i] {
					return fmt.Errorf("key %d: got %q, want %q", i, s, jsonValues[i])
				}
			}
			return nil
		},
	}, batches)
}

// checkItems returns an error unless m holds the values of the j-th batch
// of keys.
func checkItems(m map[string]Item, j int) error {
	if len(m) != batchSize {
		return fmt.Errorf("batch %d: got %d values, want %d", j, len(m), batchSize)
	}
	for i := j * batchSize; i < (j+1)*batchSize; i++ {
		v, ok := m[keys[i]]
		if !ok {
			return fmt.Errorf("batch %d: key %d missing", j, i)
		}
		if err := checkID(v.ID, i); err != nil {
			return err
		}
	}
	return nil
}
