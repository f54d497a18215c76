package googlewallet

import (
	"context"
	"sync"
	"time"
)

// pacer spaces API calls to at most a rate per second. A quiet spell
// lets up to one second's worth of calls go at once; beyond that each
// call waits for its slot, in the order the calls asked.
type pacer struct {
	interval time.Duration // between two calls
	burst    time.Duration // how far behind now the next slot may lag
	now      func() time.Time
	sleep    func(context.Context, time.Duration) error

	mu   sync.Mutex
	next time.Time // the next free slot
}

// newPacer answers a pacer for perSecond calls a second, nil (no pacing)
// when perSecond is not positive.
func newPacer(perSecond float64, now func() time.Time, sleep func(context.Context, time.Duration) error) *pacer {
	if perSecond <= 0 {
		return nil
	}
	interval := time.Duration(float64(time.Second) / perSecond)
	return &pacer{interval: interval, burst: time.Second - interval, now: now, sleep: sleep}
}

// wait takes the next slot and waits for it, or for ctx to end.
func (p *pacer) wait(ctx context.Context) error {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	now := p.now()
	if earliest := now.Add(-p.burst); p.next.Before(earliest) {
		p.next = earliest
	}
	at := p.next
	p.next = at.Add(p.interval)
	p.mu.Unlock()
	if d := at.Sub(now); d > 0 {
		return p.sleep(ctx, d)
	}
	return nil
}
