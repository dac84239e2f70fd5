package integration

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klepto-sql/klepto/cache"
	"github.com/klepto-sql/klepto/dialect"
	"github.com/klepto-sql/klepto/internal/sqltest"
	"github.com/klepto-sql/klepto/sqlarchive"
	"github.com/klepto-sql/klepto/sqlarchive/pqlisten"
)

// The memo server is a child program that memoizes square into an archive
// with sqlarchive.Memoize and answers requests, one JSON object a line, on
// stdin: calls of the memo, reads of its memory, and changes of the archive
// through the library. It answers each request with one JSON line carrying
// the request's id, in the order the answers are ready (requests run
// concurrently), and reports events (id 0) as they happen.

// serveConfig configures a memo server.
type serveConfig struct {
	Mode    string `json:"mode"` // "serve"
	Driver  string `json:"driver"`
	DSN     string `json:"dsn"`
	Dialect string `json:"dialect"`
	Archive string `json:"archive"` // the archive that the memo and the table requests use

	// sqlarchive.Options
	SkipMigrate  bool          `json:"skip_migrate,omitempty"`
	PollInterval time.Duration `json:"poll_interval,omitempty"`
	ListenDSN    string        `json:"listen_dsn,omitempty"`   // PostgreSQL: a pqlisten Listener on this DSN
	ClockOffset  time.Duration `json:"clock_offset,omitempty"` // the process's clock is this far ahead of the machine's
	NoPrepare    bool          `json:"no_prepare,omitempty"`
	ReadDSN      string        `json:"read_dsn,omitempty"` // Options.ReadDB: a pool of Driver on this DSN, a read replica

	// sqlarchive.MemoizeOptions
	Policy    string        `json:"policy,omitempty"` // cache.ParsePolicy; "" for LRU
	MaxSize   int           `json:"max_size,omitempty"`
	TTL       time.Duration `json:"ttl,omitempty"` // TableOptions.TTL, when positive
	LeaseTTL  time.Duration `json:"lease_ttl,omitempty"`
	LeaseWait time.Duration `json:"lease_wait,omitempty"`
	NoLease   bool          `json:"no_lease,omitempty"`

	// The function: it takes Work, or, with Block, announces itself with
	// the event "computing" and blocks until its call's context ends (the
	// process is meant to be killed meanwhile).
	Work  time.Duration `json:"work,omitempty"`
	Block bool          `json:"block,omitempty"`
}

// serveConfigOf returns the configuration of a memo server on db, on the
// archive "sq", with the default settings.
func serveConfigOf(db sqltest.Database, archive string) serveConfig {
	return serveConfig{Mode: "serve", Driver: db.Driver, DSN: db.DSN, Dialect: db.Dialect.Name(), Archive: archive}
}

// sqArgs is the argument of the memoized function; its key text is (N=7).
type sqArgs struct {
	N int
}

// square is the value the memoized function returns for n. Values that the
// tests store themselves are negative, so that no call can mistake one for
// the other.
func square(n int) int { return n * n }

// request is one request to a memo server.
type request struct {
	ID int64  `json:"id"`
	Op string `json:"op"`
	// call, lookup, await, put, del, forget: the argument N.
	N int `json:"n,omitempty"`
	// put: the value.
	Value int `json:"value,omitempty"`
	// walk: the arguments to call, in order.
	Keys []int `json:"keys,omitempty"`
	// call: the deadline of the call's context, none when zero; await: how
	// long to wait, 10 s when zero.
	Timeout time.Duration `json:"timeout,omitempty"`
}

// The operations of a memo server:
//
//	call N          m.Call(sqArgs{N}): the value, whether memory served it, whether it ran the function
//	lookup N        m.Lookup(sqArgs{N})
//	await N         wait until N leaves memory, polling Lookup every 0.5 ms: At is when it left;
//	                an "armed" event says the wait has begun with N in memory
//	walk KEYS       call each key in turn: the function runs, errors and wrong values
//	info            cache.Info, sqlarchive.FollowInfo and the function's runs
//	put N VALUE     store VALUE under N through sqlarchive.Table; At is when it committed
//	del N           delete N through sqlarchive.Table
//	clear           Clear the archive's table
//	drop            Archive.Drop the archive
//	create          open (so create) the archive again through sqlarchive.Table
//	forget N        m.Forget(sqArgs{N})
//	fill N VALUE    store VALUE keys from N on through one sqlarchive.Table, one Put each

// reply is a memo server's answer to a request, or an event.
type reply struct {
	ID    int64  `json:"id,omitempty"`
	Event string `json:"event,omitempty"` // "ready", "computing", "armed"; "" for an answer
	N     int    `json:"n,omitempty"`
	Value int    `json:"value,omitempty"`
	Found bool   `json:"found,omitempty"` // lookup: in memory
	// call: served from memory (a hit in cache.Info; meaningful when no
	// other call of the server overlaps), and whether this process ran
	// the function for the key during the call.
	Memory bool `json:"memory,omitempty"`
	Ran    bool `json:"ran,omitempty"`
	// When the operation ended, in Unix nanoseconds on the machine's clock
	// (never the offset one): the processes of a test share that clock.
	At      int64         `json:"at,omitempty"`
	Elapsed time.Duration `json:"elapsed,omitempty"`

	Err        string `json:"err,omitempty"`
	IsDeadline bool   `json:"is_deadline,omitempty"` // Err wraps context.DeadlineExceeded
	IsNoFeed   bool   `json:"is_no_feed,omitempty"`  // Err wraps sqlarchive.ErrNoFeed

	P50    time.Duration          `json:"p50,omitempty"`    // walk: the median latency of a call
	P99    time.Duration          `json:"p99,omitempty"`    // walk: the 99th percentile latency of a call
	Runs   int64                  `json:"runs,omitempty"`   // walk, info: function runs (walk: during the walk)
	Ranges []computation          `json:"ranges,omitempty"` // walk: the function's runs during the walk
	Errors int                    `json:"errors,omitempty"` // walk: calls that failed
	Wrong  int                    `json:"wrong,omitempty"`  // walk: calls that returned a wrong value
	Info   *cache.Info            `json:"info,omitempty"`
	Follow *sqlarchive.FollowInfo `json:"follow,omitempty"`
}

// computation is one run of the function, from start to end in Unix
// nanoseconds.
type computation struct {
	N     int   `json:"n"`
	Start int64 `json:"start"`
	End   int64 `json:"end"`
}

// setErr records err in r.
func (r *reply) setErr(err error) {
	if err == nil {
		return
	}
	r.Err = err.Error()
	r.IsDeadline = errors.Is(err, context.DeadlineExceeded)
	r.IsNoFeed = errors.Is(err, sqlarchive.ErrNoFeed)
}

// server is the state of a memo server, in the child.
type server struct {
	cfg    serveConfig
	a      *sqlarchive.Archive
	readDB *sql.DB // Options.ReadDB, with serveConfig.ReadDSN
	m      *cache.Memo[sqArgs, int]
	opts   sqlarchive.TableOptions

	outMu sync.Mutex // guards out
	out   *json.Encoder

	runs    atomic.Int64
	runsMu  sync.Mutex // guards following fields
	runsByN map[int]int64
	ranges  []computation
}

// runServe is the memo server's program.
func runServe() error {
	var cfg serveConfig
	if err := json.Unmarshal([]byte(os.Getenv(childEnv)), &cfg); err != nil {
		return err
	}
	s := &server{cfg: cfg, out: json.NewEncoder(os.Stdout), runsByN: make(map[int]int64)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db, err := sql.Open(cfg.Driver, cfg.DSN)
	if err != nil {
		return err
	}
	defer db.Close()
	defer func() {
		if s.readDB != nil {
			_ = s.readDB.Close()
		}
	}()
	if err := s.open(ctx, db); err != nil {
		// The parent reads why, as the first line.
		r := reply{Event: "ready"}
		r.setErr(err)
		s.write(r)
		return nil
	}
	defer s.a.Close()
	s.write(reply{Event: "ready"})

	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		var req request
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			return fmt.Errorf("request %q: %w", in.Text(), err)
		}
		wg.Go(func() {
			r := s.handle(ctx, req)
			r.ID = req.ID
			s.write(r)
		})
	}
	return in.Err()
}

// open opens the Archive and memoizes the function.
func (s *server) open(ctx context.Context, db *sql.DB) error {
	cfg := s.cfg
	d, err := dialect.Lookup(cfg.Dialect)
	if err != nil {
		return err
	}
	clock := time.Now
	if cfg.ClockOffset != 0 {
		clock = func() time.Time { return time.Now().Add(cfg.ClockOffset) }
	}
	opts := &sqlarchive.Options{Dialect: d, SkipMigrate: cfg.SkipMigrate, PollInterval: cfg.PollInterval, Clock: clock}
	opts.NoPrepare = cfg.NoPrepare
	if cfg.ListenDSN != "" {
		opts.Listener = pqlisten.New(cfg.ListenDSN)
	}
	if cfg.ReadDSN != "" {
		if s.readDB, err = sql.Open(cfg.Driver, cfg.ReadDSN); err != nil {
			return err
		}
		opts.ReadDB = s.readDB
	}
	if s.a, err = sqlarchive.Open(ctx, db, opts); err != nil {
		if opts.Listener != nil {
			err = errors.Join(err, opts.Listener.Close())
		}
		return err
	}
	policy, err := cache.ParsePolicy(cfg.Policy)
	if cfg.Policy == "" {
		policy, err = cache.PolicyLRU, nil
	}
	if err != nil {
		return err
	}
	if cfg.TTL > 0 {
		s.opts.TTL = &cfg.TTL
	}
	s.m, err = sqlarchive.Memoize(ctx, s.a, cfg.Archive, s.fn, &sqlarchive.MemoizeOptions[int]{
		Memo:      cache.MemoOptions[int]{Policy: policy, MaxSize: cfg.MaxSize, Clock: clock},
		Table:     s.opts,
		LeaseTTL:  cfg.LeaseTTL,
		LeaseWait: cfg.LeaseWait,
		NoLease:   cfg.NoLease,
	})
	if err != nil {
		return errors.Join(err, s.a.Close())
	}
	return nil
}

// fn is the memoized function.
func (s *server) fn(ctx context.Context, a sqArgs) (int, error) {
	s.runs.Add(1)
	start := time.Now().UnixNano()
	s.runsMu.Lock()
	s.runsByN[a.N]++
	s.runsMu.Unlock()
	defer func() {
		s.runsMu.Lock()
		s.ranges = append(s.ranges, computation{N: a.N, Start: start, End: time.Now().UnixNano()})
		s.runsMu.Unlock()
	}()
	if s.cfg.Block {
		s.write(reply{Event: "computing", N: a.N})
		<-ctx.Done()
		return 0, ctx.Err()
	}
	if s.cfg.Work > 0 {
		select {
		case <-time.After(s.cfg.Work):
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	return square(a.N), nil
}

func (s *server) runsOf(n int) int64 {
	s.runsMu.Lock()
	defer s.runsMu.Unlock()
	return s.runsByN[n]
}

func (s *server) write(r reply) {
	s.outMu.Lock()
	defer s.outMu.Unlock()
	_ = s.out.Encode(r)
}

// handle runs one request.
func (s *server) handle(ctx context.Context, req request) (r reply) {
	start := time.Now()
	defer func() { r.Elapsed = time.Since(start) }()
	switch req.Op {
	case "call":
		if req.Timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, req.Timeout)
			defer cancel()
		}
		runs := s.runsOf(req.N)
		hits := s.m.Info().Hits
		v, err := s.m.Call(ctx, sqArgs{req.N})
		r.At = time.Now().UnixNano()
		r.Value, r.Memory, r.Ran = v, s.m.Info().Hits > hits, s.runsOf(req.N) > runs
		r.setErr(err)
	case "lookup":
		v, found, err := s.m.Lookup(sqArgs{req.N})
		r.Value, r.Found = v, found
		r.setErr(err)
	case "await":
		r.setErr(s.await(req))
		r.At = time.Now().UnixNano()
	case "walk":
		runs := s.runs.Load()
		s.runsMu.Lock()
		s.ranges = nil
		s.runsMu.Unlock()
		lat := make([]time.Duration, 0, len(req.Keys))
		for _, n := range req.Keys {
			start := time.Now()
			v, err := s.m.Call(ctx, sqArgs{n})
			lat = append(lat, time.Since(start))
			switch {
			case err != nil:
				if r.Errors == 0 {
					r.Err = fmt.Sprintf("call %d: %v", n, err)
				}
				r.Errors++
			case v != square(n):
				r.Wrong++
			}
		}
		r.Runs = s.runs.Load() - runs
		r.P50, r.P99 = quantile(lat, 0.50), quantile(lat, 0.99)
		s.runsMu.Lock()
		r.Ranges = s.ranges
		s.runsMu.Unlock()
	case "info":
		info, follow := s.m.Info(), s.a.FollowInfo()
		r.Info, r.Follow, r.Runs = &info, &follow, s.runs.Load()
	case "put", "del", "clear", "create":
		at, err := s.change(ctx, req)
		r.setErr(err)
		r.At = at.UnixNano()
	case "drop":
		r.setErr(s.a.Drop(ctx, s.cfg.Archive))
		r.At = time.Now().UnixNano()
	case "forget":
		r.setErr(s.m.Forget(ctx, sqArgs{req.N}))
		r.At = time.Now().UnixNano()
	case "fill":
		r.setErr(s.fill(ctx, req.N, req.Value))
		r.At = time.Now().UnixNano()
	default:
		r.Err = fmt.Sprintf("unknown op %q", req.Op)
	}
	return r
}

// await waits until req.N leaves memory.
func (s *server) await(req request) error {
	timeout := req.Timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	if _, found, err := s.m.Lookup(sqArgs{req.N}); err != nil || !found {
		return errors.Join(fmt.Errorf("await %d: not in memory", req.N), err)
	}
	s.write(reply{ID: req.ID, Event: "armed"})
	deadline := time.Now().Add(timeout)
	for {
		if _, found, _ := s.m.Lookup(sqArgs{req.N}); !found {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("await %d: still in memory after %v", req.N, timeout)
		}
		time.Sleep(500 * time.Microsecond)
	}
}

// change changes the archive through a table of its own, as another
// program would, and returns when the change committed.
func (s *server) change(ctx context.Context, req request) (time.Time, error) {
	key, err := s.m.Key(sqArgs{req.N})
	if err != nil {
		return time.Time{}, err
	}
	t, err := sqlarchive.Table[int](ctx, s.a, s.cfg.Archive, &s.opts)
	if err != nil {
		return time.Now(), err
	}
	switch req.Op {
	case "put":
		err = t.Put(ctx, key, req.Value)
	case "del":
		err = t.Delete(ctx, key)
	case "clear":
		err = t.Clear(ctx)
	}
	return time.Now(), errors.Join(err, t.Close())
}

// memoServer is the parent's end of a memo server.
type memoServer struct {
	tb  testing.TB
	c   *child
	pid int

	mu      sync.Mutex // guards following fields
	nextID  int64
	pending map[int64]chan reply
	armed   map[int64]chan struct{}

	events chan reply    // "computing" events
	done   chan struct{} // closed when the child's output ends
}

// startServer starts a memo server and waits until it is ready.
func startServer(tb testing.TB, cfg serveConfig) *memoServer {
	tb.Helper()
	return startServers(tb, cfg)[0]
}

// tallyRuns waits for walks and returns how many times each key's
// function ran, over all of them, and the runs in all. A walk that met an
// error or a wrong value fails the test, naming its process with name.
func tallyRuns(t *testing.T, walks []*pendingReply, name func(i int) string) (perKey map[int]int, total int64) {
	t.Helper()
	perKey = make(map[int]int)
	for i, w := range walks {
		r := w.wait()
		total += r.Runs
		for _, c := range r.Ranges {
			perKey[c.N]++
		}
		if r.Errors > 0 || r.Wrong > 0 {
			t.Errorf("%s: %d errors (first: %s), %d wrong values", name(i), r.Errors, r.Err, r.Wrong)
		}
	}
	return perKey, total
}

// walkKeys sends each of servers a walk over the keys 0 to n-1: in order,
// or, with shuffle, in an order of its own drawn from seed and its index.
func walkKeys(servers []*memoServer, n int, shuffle bool, seed uint64) []*pendingReply {
	walks := make([]*pendingReply, len(servers))
	for i, s := range servers {
		ks := make([]int, n)
		for k := range ks {
			ks[k] = k
		}
		if shuffle {
			r := rand.New(rand.NewPCG(uint64(i), seed))
			r.Shuffle(len(ks), func(a, b int) { ks[a], ks[b] = ks[b], ks[a] })
		}
		walks[i] = s.send(request{Op: "walk", Keys: ks})
	}
	return walks
}

// startServers starts memo servers, all at once, and waits until they are
// ready.
func startServers(tb testing.TB, cfgs ...serveConfig) []*memoServer {
	tb.Helper()
	servers := make([]*memoServer, len(cfgs))
	for i, cfg := range cfgs {
		servers[i] = launchServer(tb, cfg)
	}
	for _, s := range servers {
		if r := s.ready(); r.Err != "" {
			tb.Fatalf("memo server %d: %s", s.pid, r.Err)
		}
	}
	return servers
}

// startServerErr starts a memo server and returns it with its first reply,
// whose Err says why the server failed to start, if it did.
func startServerErr(tb testing.TB, cfg serveConfig) (*memoServer, reply) {
	tb.Helper()
	s := launchServer(tb, cfg)
	return s, s.ready()
}

// launchServer starts a memo server.
func launchServer(tb testing.TB, cfg serveConfig) *memoServer {
	tb.Helper()
	c := startChild(tb, cfg)
	return &memoServer{
		tb:      tb,
		c:       c,
		pid:     c.cmd.Process.Pid,
		pending: make(map[int64]chan reply),
		armed:   make(map[int64]chan struct{}),
		events:  make(chan reply, 100),
		done:    make(chan struct{}),
	}
}

// ready waits for the server's first line, which says whether it started,
// and returns it.
func (s *memoServer) ready() reply {
	s.tb.Helper()
	var first reply
	line := s.c.readLine(s.tb)
	if err := json.Unmarshal([]byte(line), &first); err != nil || first.Event != "ready" {
		s.tb.Fatalf("memo server %d said %q, want ready (%v)", s.pid, line, err)
	}
	go s.read()
	return first
}

// read dispatches the child's output.
func (s *memoServer) read() {
	defer close(s.done)
	for {
		line, err := s.c.stdout.ReadString('\n')
		if err != nil {
			return
		}
		var r reply
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			continue
		}
		s.mu.Lock()
		switch {
		case r.Event == "armed":
			if ch := s.armed[r.ID]; ch != nil {
				close(ch)
				delete(s.armed, r.ID)
			}
		case r.Event != "":
			select {
			case s.events <- r:
			default:
			}
		default:
			if ch := s.pending[r.ID]; ch != nil {
				ch <- r
				delete(s.pending, r.ID)
			}
		}
		s.mu.Unlock()
	}
}

// pendingReply is a request sent and not yet answered.
type pendingReply struct {
	s     *memoServer
	req   request
	ch    chan reply
	armed chan struct{}
}

// send sends req and returns without waiting for the answer.
func (s *memoServer) send(req request) *pendingReply {
	s.tb.Helper()
	s.mu.Lock()
	s.nextID++
	req.ID = s.nextID
	p := &pendingReply{s: s, req: req, ch: make(chan reply, 1), armed: make(chan struct{})}
	s.pending[req.ID] = p.ch
	s.armed[req.ID] = p.armed
	s.mu.Unlock()
	b, err := json.Marshal(req)
	if err != nil {
		s.tb.Fatal(err)
	}
	if _, err := s.c.stdin.Write(append(b, '\n')); err != nil {
		s.tb.Fatalf("memo server %d: send %s: %v", s.pid, b, err)
	}
	return p
}

// replyTimeout bounds every wait for an answer: far longer than any
// operation of the tests takes, walks of 1,000 keys by four processes on a
// busy machine included.
const replyTimeout = 5 * time.Minute

// wait returns the answer to the request.
func (p *pendingReply) wait() reply {
	p.s.tb.Helper()
	select {
	case r := <-p.ch:
		return r
	case <-p.s.done:
		select {
		case r := <-p.ch:
			return r
		default:
		}
		p.s.tb.Fatalf("memo server %d ended without answering %s %d (its errors are above)", p.s.pid, p.req.Op, p.req.N)
	case <-time.After(replyTimeout):
		p.s.tb.Fatalf("memo server %d did not answer %s %d in %v", p.s.pid, p.req.Op, p.req.N, replyTimeout)
	}
	return reply{}
}

// poll returns the answer if it has come.
func (p *pendingReply) poll() (reply, bool) {
	select {
	case r := <-p.ch:
		p.ch <- r // keep it for wait
		return r, true
	default:
		return reply{}, false
	}
}

// waitArmed waits for the "armed" event of an await request, or its answer,
// which then says why it did not arm.
func (p *pendingReply) waitArmed() {
	p.s.tb.Helper()
	select {
	case <-p.armed:
	case r := <-p.ch:
		p.s.tb.Fatalf("memo server %d: %s %d: %s", p.s.pid, p.req.Op, p.req.N, r.Err)
	case <-time.After(replyTimeout):
		p.s.tb.Fatalf("memo server %d did not arm %s %d", p.s.pid, p.req.Op, p.req.N)
	}
}

// do sends req and returns its answer.
func (s *memoServer) do(req request) reply {
	s.tb.Helper()
	return s.send(req).wait()
}

// must sends req and returns its answer, failing the test if it carries
// an error.
func (s *memoServer) must(req request) reply {
	s.tb.Helper()
	r := s.do(req)
	if r.Err != "" {
		s.tb.Fatalf("memo server %d: %s %d: %s", s.pid, req.Op, req.N, r.Err)
	}
	return r
}

// call calls the memo with n and fails the test on an error.
func (s *memoServer) call(n int) reply {
	s.tb.Helper()
	return s.must(request{Op: "call", N: n})
}

// event returns the next event, failing after timeout.
func (s *memoServer) event(timeout time.Duration) reply {
	s.tb.Helper()
	select {
	case r := <-s.events:
		return r
	case <-s.done:
		s.tb.Fatalf("memo server %d ended (its errors are above)", s.pid)
	case <-time.After(timeout):
		s.tb.Fatalf("memo server %d: no event in %v", s.pid, timeout)
	}
	return reply{}
}

// kill kills the server with SIGKILL, as kill -9 does, and returns when.
func (s *memoServer) kill() time.Time {
	s.tb.Helper()
	if err := s.c.cmd.Process.Kill(); err != nil {
		s.tb.Fatalf("kill memo server %d: %v", s.pid, err)
	}
	return time.Now()
}

// info returns the server's figures.
func (s *memoServer) info() reply {
	s.tb.Helper()
	return s.must(request{Op: "info"})
}

// unixTime returns the time of Unix nanoseconds ns.
func unixTime(ns int64) time.Time { return time.Unix(0, ns) }
