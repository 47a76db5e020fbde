package orderedcache

import (
	"fmt"
	"reflect"
	"strconv"
)

// Options configures New. The zero value means the defaults.
type Options[K comparable] struct {
	// Key turns an id into its cache key (the Redis key is then
	// Cache.RedisKey(Key(id))). It must give distinct ids distinct,
	// non-empty keys. Default: an id of an integer kind (int, int8...,
	// uint64, uintptr, and named types over them) is written in base 10
	// ("42", "-7"); an id of a string kind is its own key. For any other K
	// Key is required: without it New returns ErrNoKey.
	Key func(K) string
}

// keyFunc returns opts.Key, or the default key function for K.
func keyFunc[K comparable](opts Options[K]) (func(K) string, error) {
	if opts.Key != nil {
		return opts.Key, nil
	}
	// The common predeclared types first: a type switch costs no reflection
	// per id.
	var zero K
	switch any(zero).(type) {
	case string:
		return func(k K) string { return any(k).(string) }, nil
	case int:
		return func(k K) string { return strconv.Itoa(any(k).(int)) }, nil
	case int64:
		return func(k K) string { return strconv.FormatInt(any(k).(int64), 10) }, nil
	case int32:
		return func(k K) string { return strconv.FormatInt(int64(any(k).(int32)), 10) }, nil
	case uint64:
		return func(k K) string { return strconv.FormatUint(any(k).(uint64), 10) }, nil
	case uint32:
		return func(k K) string { return strconv.FormatUint(uint64(any(k).(uint32)), 10) }, nil
	case uint:
		return func(k K) string { return strconv.FormatUint(uint64(any(k).(uint)), 10) }, nil
	}
	// Named types (type DocID int64) and the remaining sizes.
	t := reflect.TypeFor[K]()
	switch t.Kind() {
	case reflect.String:
		return func(k K) string { return reflect.ValueOf(k).String() }, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return func(k K) string { return strconv.FormatInt(reflect.ValueOf(k).Int(), 10) }, nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return func(k K) string { return strconv.FormatUint(reflect.ValueOf(k).Uint(), 10) }, nil
	}
	return nil, fmt.Errorf("%w: %v", ErrNoKey, t)
}
