package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// watch prints the changes others make, one JSON line each, as they
// happen, until interrupted; new keys are not changes.
func TestWatch(t *testing.T) {
	eachDB(t, func(t *testing.T, dsn string) {
		ok(t, "create", "fib", "-db", dsn)
		ok(t, "put", "fib", "(n=1)", "1", "-db", dsn)

		ctx, stop := context.WithCancel(t.Context())
		var stdout, stderr syncBuffer
		code := make(chan int, 1)
		go func() {
			code <- run(ctx, []string{"watch", "fib", "-json", "-interval", "20ms", "-db", dsn}, strings.NewReader(""), &stdout, &stderr)
		}()
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(stderr.String(), "watching") {
			if time.Now().After(deadline) {
				t.Fatalf("watch did not start: %q", stderr.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
		ok(t, "put", "fib", "(n=2)", "2", "-db", dsn)  // new: not a change
		ok(t, "put", "fib", "(n=1)", "11", "-db", dsn) // update
		ok(t, "rm", "fib", "(n=1)", "-db", dsn)        // delete
		ok(t, "purge", "fib", "-all", "-yes", "-db", dsn)
		ok(t, "drop", "fib", "-yes", "-db", dsn)

		type line struct {
			ID      int64   `json:"id"`
			Archive string  `json:"archive"`
			Table   string  `json:"table"`
			Op      string  `json:"op"`
			Key     *string `json:"key"`
		}
		var got []line
		for len(got) < 4 {
			if time.Now().After(deadline) {
				t.Fatalf("watch printed %q in 10 s, want 4 changes", stdout.String())
			}
			time.Sleep(10 * time.Millisecond)
			got = got[:0]
			for _, l := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
				var c line
				if l != "" && json.Unmarshal([]byte(l), &c) == nil {
					got = append(got, c)
				}
			}
		}
		stop()
		if c := <-code; c != exitOK {
			t.Fatalf("watch exited %d after the interrupt: %s", c, stderr.String())
		}
		want := []struct{ op, key string }{{"update", "(n=1)"}, {"delete", "(n=1)"}, {"clear", ""}, {"drop", ""}}
		for i, w := range want {
			c := got[i]
			key := ""
			if c.Key != nil {
				key = *c.Key
			}
			if c.Op != w.op || key != w.key || c.Table != "fib" || c.Archive != "fib" || (i > 0 && c.ID <= got[i-1].ID) {
				t.Errorf("change %d = %+v, want %s of %q in fib", i, c, w.op, w.key)
			}
		}
		if len(got) != len(want) {
			t.Errorf("watch printed %d changes, want %d: %s", len(got), len(want), stdout.String())
		}
	})
}
