package collections_test

import (
	"context"
	"fmt"
	"math"

	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/collections"
)

// Pages of a leaderboard from the top, scores above a threshold, and a
// first score that sticks.
func ExampleSortedSet_RangeByScoreLimit() {
	ctx := context.Background()
	board, err := collections.NewSortedSet(exampleClient(), "board", collections.SortedSetOptions[string]{Codec: codec.String()})
	if err != nil {
		panic(err)
	}
	_ = board.Clear(ctx)
	_ = board.SetScores(ctx,
		collections.Scored[string]{Value: "ann", Score: 120},
		collections.Scored[string]{Value: "bob", Score: 95},
		collections.Scored[string]{Value: "cid", Score: 130},
		collections.Scored[string]{Value: "dee", Score: 100})

	// Scores above 95 (excluded), from the top, two per page.
	opts := collections.RangeOptions{ExclusiveMin: true, Rev: true}
	for offset := int64(0); ; offset += 2 {
		page, err := board.RangeByScoreLimit(ctx, 95, math.Inf(1), offset, 2, opts)
		if err != nil || len(page) == 0 {
			break
		}
		fmt.Println(page)
	}

	s, added, _ := board.ScoreOrSet(ctx, "eve", 50)
	fmt.Println("eve:", s, added)
	s, added, _ = board.ScoreOrSet(ctx, "eve", 500)
	fmt.Println("eve:", s, added)
	// Output:
	// [{cid 130} {ann 120}]
	// [{dee 100}]
	// eve: 50 true
	// eve: 50 false
}
