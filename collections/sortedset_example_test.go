package collections_test

import (
	"context"
	"fmt"

	"github.com/tiercache/tiercache/collections"
)

// A leaderboard: redis-collections' SortedSetCounter.
func ExampleSortedSet() {
	ctx := context.Background()
	scores, err := collections.NewSortedSet(exampleClient(), "leaderboard", collections.SortedSetOptions[string]{})
	if err != nil {
		panic(err)
	}
	_ = scores.Clear(ctx)
	_ = scores.SetScores(ctx,
		collections.Scored[string]{Value: "ann", Score: 120},
		collections.Scored[string]{Value: "bob", Score: 95},
		collections.Scored[string]{Value: "cid", Score: 130})
	_, _ = scores.IncrScore(ctx, "bob", 50)
	top, _ := scores.RevRangeByRank(ctx, 0, 1)
	fmt.Println(top)
	rank, _ := scores.Rank(ctx, "ann")
	fmt.Println("ann's rank from the bottom:", rank)
	n, _ := scores.CountBetween(ctx, 100, 140)
	fmt.Println(n, "scores in [100, 140]")
	low, _ := scores.PopMin(ctx)
	fmt.Println("out:", low.Value)
	// Output:
	// [{bob 145} {cid 130}]
	// ann's rank from the bottom: 0
	// 2 scores in [100, 140]
	// out: ann
}
