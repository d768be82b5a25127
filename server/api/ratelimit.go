package api

import (
	"fmt"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// maxTrackedSources bounds the memory of a sourceLimit: beyond it, sources
// that have their whole allowance back are forgotten, and if that is not
// enough, every source.
const maxTrackedSources = 10000

// sourceLimit allows each source address a number of requests a minute,
// for public endpoints that cost the server something. It is a token
// bucket: a full minute's allowance at once, then one request every
// 60/perMinute seconds.
type sourceLimit struct {
	perMinute int

	mu      sync.Mutex
	buckets map[netip.Addr]*tokenBucket
}

type tokenBucket struct {
	tokens float64
	at     time.Time // when tokens was counted
}

func newSourceLimit(perMinute int) *sourceLimit {
	return &sourceLimit{perMinute: perMinute, buckets: map[netip.Addr]*tokenBucket{}}
}

// allow takes one request from source's allowance, or answers 429 with
// when the next one is allowed.
func (l *sourceLimit) allow(source netip.Addr, now time.Time) *Error {
	key := sourceKey(source)
	l.mu.Lock()
	defer l.mu.Unlock()
	bucket := l.buckets[key]
	if bucket == nil {
		if len(l.buckets) >= maxTrackedSources {
			l.forgetRefilled(now)
		}
		if len(l.buckets) >= maxTrackedSources {
			// So many sources at once: bounded memory matters more.
			clear(l.buckets)
		}
		bucket = &tokenBucket{tokens: float64(l.perMinute), at: now}
		l.buckets[key] = bucket
	}
	bucket.refill(now, l.perMinute)
	if bucket.tokens < 1 {
		e := apiError(http.StatusTooManyRequests, "rate_limited",
			fmt.Sprintf("at most %d of these requests a minute from one address; try again shortly", l.perMinute))
		e.retryAfter = time.Duration((1 - bucket.tokens) / float64(l.perMinute) * float64(time.Minute))
		return e
	}
	bucket.tokens--
	return nil
}

func (b *tokenBucket) refill(now time.Time, perMinute int) {
	b.tokens = min(float64(perMinute), b.tokens+now.Sub(b.at).Minutes()*float64(perMinute))
	b.at = now
}

// forgetRefilled drops the sources whose allowance is whole again: they
// would start from the same place.
func (l *sourceLimit) forgetRefilled(now time.Time) {
	for key, bucket := range l.buckets {
		if bucket.refill(now, l.perMinute); bucket.tokens >= float64(l.perMinute) {
			delete(l.buckets, key)
		}
	}
}

// sourceKey is the address a limit counts: an IPv6 client has a whole /64
// to pick addresses from, so the /64 counts as one source.
func sourceKey(source netip.Addr) netip.Addr {
	if source.Is6() && !source.Is4In6() {
		prefix, err := source.Prefix(64)
		if err == nil {
			return prefix.Addr()
		}
	}
	return source
}
