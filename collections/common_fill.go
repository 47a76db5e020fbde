package collections

import (
	"context"
	_ "embed"
	"fmt"
)

// This file holds what the Create and Replace methods of every type share
// (the methods are in fill.go): one script that writes a collection's whole
// contents in one step, only where its key does not exist (create) or in
// place of what it held (replace).

var (
	//go:embed common_fill.lua
	commonFillSrc string
	commonFill    = newScript(commonFillSrc)
)

// versioned reports whether the collection's key may have a syncable
// version key next to it: every kind but "string", a HyperLogLog.
func (b *base) versioned() bool { return b.kind != "string" }

// create writes args, the arguments of cmd after the key, as the contents
// of the collection's key if it does not exist, and returns ErrExists,
// writing nothing, if it does. With no args it only checks. It is
// idempotent under resend: a request id makes a resend after a lost reply
// return the first run's answer, not ErrExists for its own write.
func (b *base) create(ctx context.Context, cmd string, args []any) error {
	nkeys := 2
	if b.versioned() {
		nkeys = 3
	}
	a := append(commonFill.args(nkeys, nkeys+4+len(args)), b.keyArg, b.req.next())
	if b.versioned() {
		a = append(a, b.key+syncVersionSuffix)
	}
	a = append(a, "create", b.kind, cmd, b.window)
	a = append(a, args...)
	var n int64
	err := b.rtIdem(ctx, "create", func(ctx context.Context) (err error) {
		n, err = commonFill.run(ctx, b.rdb, false, a).Int64()
		return err
	})
	if err == nil && n == 0 {
		return fmt.Errorf("%w: key %q", ErrExists, b.key)
	}
	return err
}

// replace writes args, the arguments of cmd after the key, as the whole
// contents of the collection's key, in place of what it held (and of its
// time to live and syncable version). With no args it deletes the key. A
// key of another type is ErrWrongType and is left as it is. It is
// idempotent by nature: a resend writes the same contents again.
func (b *base) replace(ctx context.Context, cmd string, args []any) error {
	nkeys := 1
	if b.versioned() {
		nkeys = 2
	}
	a := append(commonFill.args(nkeys, nkeys+4+len(args)), b.keyArg)
	if b.versioned() {
		a = append(a, b.key+syncVersionSuffix)
	}
	a = append(a, "replace", b.kind, cmd, 0)
	a = append(a, args...)
	return b.rt(ctx, "replace", true, func(ctx context.Context) error {
		return commonFill.run(ctx, b.rdb, false, a).Err()
	})
}

// fill runs create or replace.
func (b *base) fill(ctx context.Context, create bool, cmd string, args []any) error {
	if create {
		return b.create(ctx, cmd, args)
	}
	return b.replace(ctx, cmd, args)
}
