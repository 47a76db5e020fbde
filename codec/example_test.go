package codec_test

import (
	"fmt"
	"strings"

	"github.com/tiercache/tiercache/codec"
)

type user struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

func ExampleJSON() {
	c := codec.JSON[user]()

	b, err := c.Append(nil, user{ID: 1, Name: "Ada"})
	if err != nil {
		panic(err)
	}
	fmt.Println(string(b))

	u, err := c.Decode(b)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%+v\n", u)
	// Output:
	// {"id":1,"name":"Ada"}
	// {ID:1 Name:Ada}
}

func ExampleString() {
	b, _ := codec.String().Append([]byte("key="), "value")
	fmt.Println(string(b))
	// Output: key=value
}

func ExampleBytes() {
	data := []byte{1, 2, 3}
	v, _ := codec.Bytes().Decode(data)
	data[0] = 9 // v is a copy
	fmt.Println(v)
	// Output: [1 2 3]
}

func ExampleMsgpack() {
	c := codec.Msgpack[map[string]int]()
	b, _ := c.Append(nil, map[string]int{"a": 1})
	m, _ := c.Decode(b)
	fmt.Printf("% x\n%v\n", b, m)
	// Output:
	// 81 a1 61 01
	// map[a:1]
}

func ExampleEncodeValue() {
	h := codec.Header{
		SoftExpiry: 1_700_000_000_000, // stale after this (unix ms)
		HardExpiry: 1_700_000_060_000, // gone from Redis at this time
	}
	b, err := codec.EncodeValue(nil, h, codec.JSON[user](), user{ID: 1, Name: "Ada"}, 1024)
	if err != nil {
		panic(err)
	}
	fmt.Printf("header % x\npayload %s\n", b[:codec.HeaderSize], b[codec.HeaderSize:])

	got, u, err := codec.DecodeValue(b, codec.JSON[user](), 1<<20)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%+v %+v\n", got, u)
	// Output:
	// header 01 00 00 00 01 8b cf e5 68 00 00 00 01 8b cf e6 52 60
	// payload {"id":1,"name":"Ada"}
	// {Flags:0 SoftExpiry:1700000000000 HardExpiry:1700000060000} {ID:1 Name:Ada}
}

func ExampleEncodeValue_negative() {
	// A negative entry caches "not found": no payload, and DecodeValue
	// returns the zero value without calling the codec.
	b, _ := codec.EncodeValue(nil, codec.Header{Flags: codec.FlagNegative}, codec.JSON[*user](), nil, 0)
	h, u, err := codec.DecodeValue(b, codec.JSON[*user](), 0)
	fmt.Println(len(b) == codec.HeaderSize, h.Flags&codec.FlagNegative != 0, u, err)
	// Output: true true <nil> <nil>
}

func ExampleDecodeValue() {
	b, _ := codec.EncodeValue(nil, codec.Header{}, codec.String(), "hello", 0)
	_, v, err := codec.DecodeValue(b, codec.String(), 1<<20)
	fmt.Println(v, err)

	b[0] = 2 // an envelope from a future version is refused, not misread
	_, _, err = codec.DecodeValue(b, codec.String(), 1<<20)
	fmt.Println(err)
	// Output:
	// hello <nil>
	// tiercache/codec: unknown envelope version 2 (this build reads 1)
}

func ExampleSeal() {
	// Build an envelope by hand: header, payload, then Seal.
	buf := codec.AppendHeader(nil, codec.Header{})
	buf = append(buf, strings.Repeat("compress me ", 100)...)
	buf = codec.Seal(buf, 0, 256)
	fmt.Println(codec.Flags(buf[1])&codec.FlagCompressed != 0, len(buf) < codec.HeaderSize+1200)

	h, payload, err := codec.Open(buf, 1<<20)
	fmt.Println(h.Flags, len(payload), err)
	// Output:
	// true true
	// 0 1200 <nil>
}
