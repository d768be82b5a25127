package turnserver

import (
	"net"
	"slices"
	"sync"
)

// allocationQuota counts allocations per user and refuses a user's
// allocation beyond the limit.
//
// pion asks (QuotaHandler) before it creates an allocation and reports the
// creation afterwards (OnAllocationCreated), both on the goroutine handling
// the request and with its source address. A request that passed the check
// holds a pending slot until then, so that concurrent requests of one user
// cannot overshoot; a request that fails after the check is reported to
// failed, which frees its slot.
type allocationQuota struct {
	limit int

	mu      sync.Mutex
	used    map[string]int      // user → live and pending allocations
	pending map[string][]string // request source address → users holding a pending slot from it
	live    int
	onEmpty chan struct{} // closed when live drops to zero; nil unless drained is waiting
}

func newAllocationQuota(limit int) *allocationQuota {
	return &allocationQuota{limit: limit, used: map[string]int{}, pending: map[string][]string{}}
}

// reserve takes a pending slot for an allocation of user requested from
// srcAddr, or reports that the user's quota is used up.
func (q *allocationQuota) reserve(user string, srcAddr net.Addr) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.used[user] >= q.limit {
		return false
	}
	q.used[user]++
	key := srcAddr.String()
	q.pending[key] = append(q.pending[key], user)
	return true
}

// created turns the pending slot of the request into a live allocation.
func (q *allocationQuota) created(user string, srcAddr net.Addr) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.live++
	key := srcAddr.String()
	users := q.pending[key]
	i := slices.Index(users, user)
	if i < 0 {
		// failed released the slot already: a request from the same
		// address on another transport failed meanwhile.
		q.used[user]++
		return
	}
	if users = slices.Delete(users, i, i+1); len(users) == 0 {
		delete(q.pending, key)
	} else {
		q.pending[key] = users
	}
}

// failed frees the pending slots of requests from srcAddr.
func (q *allocationQuota) failed(srcAddr net.Addr) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.pending) == 0 {
		return
	}
	key := srcAddr.String()
	for _, user := range q.pending[key] {
		q.release(user)
	}
	delete(q.pending, key)
}

// deleted frees the slot of a deleted allocation.
func (q *allocationQuota) deleted(user string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.release(user)
	q.live--
	if q.live == 0 && q.onEmpty != nil {
		close(q.onEmpty)
		q.onEmpty = nil
	}
}

func (q *allocationQuota) release(user string) {
	if q.used[user]--; q.used[user] <= 0 {
		delete(q.used, user)
	}
}

func (q *allocationQuota) liveAllocations() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.live
}

// drained returns a channel that is closed once no allocation is live.
func (q *allocationQuota) drained() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.live == 0 {
		done := make(chan struct{})
		close(done)
		return done
	}
	if q.onEmpty == nil {
		q.onEmpty = make(chan struct{})
	}
	return q.onEmpty
}
