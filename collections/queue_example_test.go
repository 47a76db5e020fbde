package collections_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tiercache/tiercache/collections"
)

// The cars queue of pottery's README.
func ExampleQueue() {
	ctx := context.Background()
	cars, err := collections.NewQueue(exampleClient(), "cars", collections.QueueOptions[string]{})
	if err != nil {
		panic(err)
	}
	_ = cars.Clear(ctx)
	_ = cars.Put(ctx, "Jeep", "Honda")
	_ = cars.Put(ctx, "Audi")
	for range 3 {
		car, _ := cars.Get(ctx) // waits while the queue is empty
		fmt.Println(car)
	}
	wait, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	_, err = cars.Get(wait)
	fmt.Println(errors.Is(err, collections.ErrEmpty), errors.Is(err, context.DeadlineExceeded))
	// Output:
	// Jeep
	// Honda
	// Audi
	// true true
}

func ExampleReliableQueue() {
	ctx := context.Background()
	jobs, err := collections.NewReliableQueue(exampleClient(), "jobs", collections.QueueOptions[string]{
		VisibilityTimeout: time.Minute, // a consumer that dies gives its job back after a minute
	})
	if err != nil {
		panic(err)
	}
	_ = jobs.Clear(ctx)
	_ = jobs.Put(ctx, "resize photo 1", "resize photo 2")

	d, _ := jobs.Get(ctx)
	fmt.Println("working on", d.Value)
	_ = d.Nack(ctx) // could not do it now: back to the front of the queue

	for range 2 {
		d, _ := jobs.Get(ctx)
		fmt.Println("done with", d.Value)
		_ = d.Ack(ctx)
	}
	n, _ := jobs.InFlight(ctx)
	fmt.Println(n, "in flight")
	// Output:
	// working on resize photo 1
	// done with resize photo 1
	// done with resize photo 2
	// 0 in flight
}

// A consumer that needs longer than the visibility timeout extends its
// delivery; a settlement whose reply was lost is not an error (go-redis
// sends it again and the queue answers as the first time), while a call
// that may or may not have been applied says so.
func ExampleDelivery_Extend() {
	ctx := context.Background()
	jobs, err := collections.NewReliableQueue(exampleClient(), "long-jobs", collections.QueueOptions[string]{
		VisibilityTimeout: time.Second,
	})
	if err != nil {
		panic(err)
	}
	_ = jobs.Clear(ctx)
	_ = jobs.Put(ctx, "render video")
	d, _ := jobs.Get(ctx)
	if err := d.Extend(ctx, time.Minute); err != nil { // the job takes longer
		panic(err)
	}
	switch err := d.Ack(ctx); {
	case errors.Is(err, collections.ErrUncertain):
		fmt.Println("the ack may or may not have been applied: the job may come back")
	case err != nil:
		panic(err)
	default:
		fmt.Println("acked", d.Value)
	}
	// Output:
	// acked render video
}
