package chaos_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// adminKey is the bootstrap admin key the suite's passd processes accept.
const adminKey = "chaos-admin-key-0123456789"

// loadReference marks the entries the load posts.
const loadReference = "chaos load"

// ack is an earn passd acknowledged (201, or 200 for a replay).
type ack struct {
	member string
	points int64
	txID   string
}

// load drives earns through passd's JSON API at base, as a till would
// through an outage: every request is retried with its Idempotency-Key
// until passd acknowledges it. 503 and connection errors are the expected
// answers of an outage; anything else unexpected is counted.
type load struct {
	t       *testing.T
	base    string
	members []string
	client  *http.Client

	acks       atomic.Int64
	stopped    atomic.Bool // no new earns once set; those under way finish
	mu         sync.Mutex
	acked      map[string]ack // by Idempotency-Key
	statuses   map[int]int
	unexpected []string
}

func newLoad(t *testing.T, base string) *load {
	return &load{t: t, base: base, acked: map[string]ack{}, statuses: map[int]int{},
		client: &http.Client{Timeout: 15 * time.Second}}
}

// call sends one request; status 0 means no answer (connection refused,
// reset, timed out).
func (l *load) call(ctx context.Context, method, path string, body any, idemKey string) (int, http.Header, []byte) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, l.base+path, rd)
	if err != nil {
		l.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminKey)
	req.Header.Set("Content-Type", "application/json")
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	res, err := l.client.Do(req)
	if err != nil {
		return 0, nil, nil
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, b
}

// retryWait is how long the load waits before sending a request again:
// shorter than the Retry-After passd asks, to press on the outage.
const retryWait = 50 * time.Millisecond

// enrol makes n members (retrying through an outage).
func (l *load) enrol(ctx context.Context, n int) {
	for i := range n {
		var m struct {
			ID string `json:"id"`
		}
		key := fmt.Sprintf("enrol-%d-%d", i, rand.Int64())
		l.until(ctx, func() bool {
			status, _, b := l.call(ctx, http.MethodPost, "/api/v1/programs/demo/members", map[string]any{"name": fmt.Sprintf("Chaos %d", i)}, key)
			return status == http.StatusCreated && json.Unmarshal(b, &m) == nil
		})
		l.members = append(l.members, m.ID)
	}
}

// until runs try until it reports success or ctx ends, waiting retryWait
// between tries.
func (l *load) until(ctx context.Context, try func() bool) bool {
	t := time.NewTicker(retryWait)
	defer t.Stop()
	for {
		if try() {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
}

// earn posts one earn of a random member until passd acknowledges it,
// or ctx ends (then it stays unacknowledged: it may or may not be in the
// ledger, and the checks allow for that).
func (l *load) earn(ctx context.Context, worker, i int) {
	l.earnFor(ctx, l.members[rand.IntN(len(l.members))], worker, i)
}

// earnFor is earn for the given member.
func (l *load) earnFor(ctx context.Context, member string, worker, i int) {
	points := int64(1 + rand.IntN(20))
	key := fmt.Sprintf("chaos-%d-%d-%d", worker, i, rand.Int64())
	body := map[string]any{"type": "earn", "points": points, "reference": loadReference}
	l.until(ctx, func() bool {
		status, _, b := l.call(ctx, http.MethodPost, "/api/v1/members/"+member+"/transactions", body, key)
		l.mu.Lock()
		defer l.mu.Unlock()
		l.statuses[status]++
		switch status {
		case http.StatusCreated, http.StatusOK:
			var res struct {
				Transaction struct {
					ID string `json:"id"`
				} `json:"transaction"`
			}
			if err := json.Unmarshal(b, &res); err != nil || res.Transaction.ID == "" {
				l.unexpected = append(l.unexpected, fmt.Sprintf("%d without a transaction: %s", status, b))
				return false
			}
			l.acked[key] = ack{member: member, points: points, txID: res.Transaction.ID}
			l.acks.Add(1)
			return true
		case 0, http.StatusServiceUnavailable, http.StatusConflict:
			// No answer, the database out of reach, or the first try
			// still holding the member's row: the same key again.
			if status == http.StatusConflict && !bytes.Contains(b, []byte("request_in_progress")) {
				l.unexpected = append(l.unexpected, fmt.Sprintf("409: %s", b))
			}
			return false
		default:
			l.unexpected = append(l.unexpected, fmt.Sprintf("%d: %s", status, b))
			return false
		}
	})
}

// run has workers post n earns each, returning once all are acknowledged
// or ctx ends, or, after stop, once the earns under way are.
func (l *load) run(ctx context.Context, workers, n int) {
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range n {
				if ctx.Err() != nil || l.stopped.Load() {
					return
				}
				l.earn(ctx, w, i)
			}
		})
	}
	wg.Wait()
}

// stop has the workers send no new earns.
func (l *load) stop() { l.stopped.Store(true) }

// waitAcks waits until n more earns were acknowledged than at the call,
// or ctx ends.
func (l *load) waitAcks(ctx context.Context, n int64) {
	target := l.acks.Load() + n
	l.until(ctx, func() bool { return l.acks.Load() >= target })
}

// check verifies, once the outage is over, the ledger of every member:
// the entries sum to the balance; every acknowledged earn is in the
// ledger exactly once with its points; the ledger holds no load entry
// that was not acknowledged; and replaying every acknowledged earn answers
// the same transaction and changes no balance. No answer was a 500 or
// another surprise.
func (l *load) check(ctx context.Context) {
	t := l.t
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.unexpected) > 0 {
		t.Errorf("%d unexpected answers, first: %s", len(l.unexpected), l.unexpected[0])
	}
	if n := l.statuses[http.StatusInternalServerError]; n > 0 {
		t.Errorf("%d answers were 500", n)
	}
	byTx := map[string]ack{}
	for _, a := range l.acked {
		byTx[a.txID] = a
	}
	balances := map[string]int64{}
	for _, m := range l.members {
		points, entries := l.ledger(ctx, m)
		balances[m] = points
		var sum int64
		for _, e := range entries {
			sum += e.Points
			if e.Reference != loadReference {
				continue
			}
			a, ok := byTx[e.ID]
			switch {
			case !ok:
				t.Errorf("member %s: entry %s was never acknowledged", m, e.ID)
			case a.member != m || a.points != e.Points:
				t.Errorf("entry %s: %d points for %s, acknowledged %d for %s", e.ID, e.Points, m, a.points, a.member)
			}
			delete(byTx, e.ID)
		}
		if sum != points {
			t.Errorf("member %s: entries sum to %d, balance is %d", m, sum, points)
		}
	}
	for tx, a := range byTx {
		t.Errorf("acknowledged earn %s (%d points for %s) is not in the ledger", tx, a.points, a.member)
	}
	// A till that never got an answer replays: the same transaction
	// comes back and nothing is written twice.
	for key, a := range l.acked {
		status, hdr, b := l.call(ctx, http.MethodPost, "/api/v1/members/"+a.member+"/transactions",
			map[string]any{"type": "earn", "points": a.points, "reference": loadReference}, key)
		var res struct {
			Transaction struct {
				ID string `json:"id"`
			} `json:"transaction"`
		}
		if (status != http.StatusOK && status != http.StatusCreated) || json.Unmarshal(b, &res) != nil ||
			res.Transaction.ID != a.txID || hdr.Get("Idempotent-Replayed") != "true" {
			t.Errorf("replay of %s = %d %s (replayed %q), want transaction %s", key, status, b, hdr.Get("Idempotent-Replayed"), a.txID)
		}
	}
	for _, m := range l.members {
		if points, _ := l.ledger(ctx, m); points != balances[m] {
			t.Errorf("member %s: balance %d after the replays, %d before", m, points, balances[m])
		}
	}
	t.Logf("%d earns acknowledged; answers by status: %v", len(l.acked), l.statuses)
}

// entry is a transaction as the API lists it.
type entry struct {
	ID        string `json:"id"`
	Points    int64  `json:"points"`
	Reference string `json:"reference"`
}

// ledger reads a member's balance and every transaction.
func (l *load) ledger(ctx context.Context, member string) (int64, []entry) {
	t := l.t
	t.Helper()
	status, _, b := l.call(ctx, http.MethodGet, "/api/v1/members/"+member, nil, "")
	var m struct {
		Points int64 `json:"points"`
	}
	if status != http.StatusOK || json.Unmarshal(b, &m) != nil {
		t.Fatalf("GET member %s = %d %s", member, status, b)
	}
	var all []entry
	cursor := ""
	for {
		path := "/api/v1/members/" + member + "/transactions?limit=200"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		status, _, b := l.call(ctx, http.MethodGet, path, nil, "")
		var page struct {
			Items      []entry `json:"items"`
			NextCursor string  `json:"next_cursor"`
		}
		if status != http.StatusOK || json.Unmarshal(b, &page) != nil {
			t.Fatalf("GET transactions of %s = %d %s", member, status, b)
		}
		all = append(all, page.Items...)
		if page.NextCursor == "" {
			return m.Points, all
		}
		cursor = page.NextCursor
	}
}

// freeAddr answers a loopback address that was free a moment ago, for a
// passd that keeps its address across restarts.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
