package discovery

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/grandcat/zeroconf"
)

// Server is a Parley server found on the network.
type Server struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"` // the instance name: the display name, numbered on a conflict
	Addresses []string  `json:"addresses"`
	Port      int       `json:"port"`
	Version   string    `json:"version"`
	Path      string    `json:"path"`
	Guests    bool      `json:"guests"`
	CertSHA   string    `json:"cert_sha256"`
	CASHA     string    `json:"ca_sha256"`
	LastSeen  time.Time `json:"last_seen"`
}

// URL is the address of the server's first announced address.
func (s Server) URL() string {
	host := "localhost"
	if len(s.Addresses) > 0 {
		host = s.Addresses[0]
	}
	path := s.Path
	if path == "" {
		path = "/"
	}
	return "https://" + net.JoinHostPort(host, strconv.Itoa(s.Port)) + path
}

// Timings of browsing. A server is dropped when it said goodbye or was not
// heard for expireRounds rounds (it left without goodbye: switched off,
// unplugged).
const (
	roundEvery   = 3 * time.Second
	listenFor    = 2 * time.Second
	expireRounds = 2
)

// Browser keeps a live list of the servers on the network.
type Browser struct {
	logger   *slog.Logger
	onChange func([]Server)

	mu      sync.Mutex
	servers map[string]*Server  // by server id (or instance name without one)
	heard   map[string]int      // the round each was last heard in
	leaving map[string]*removal // by instance name: removals after a goodbye
}

// NewBrowser returns a browser that calls onChange (if not nil) with the
// whole list whenever it changes.
func NewBrowser(onChange func([]Server), logger *slog.Logger) *Browser {
	if logger == nil {
		logger = slog.Default()
	}
	return &Browser{logger: logger, onChange: onChange, servers: map[string]*Server{}, heard: map[string]int{}, leaving: map[string]*removal{}}
}

// Servers is the list now, by name.
func (b *Browser) Servers() []Server {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.listLocked()
}

func (b *Browser) listLocked() []Server {
	list := make([]Server, 0, len(b.servers))
	for _, s := range b.servers {
		copied := *s
		copied.Addresses = slices.Clone(s.Addresses)
		list = append(list, copied)
	}
	sort.Slice(list, func(i, j int) bool {
		return list[i].Name < list[j].Name || list[i].Name == list[j].Name && list[i].ID < list[j].ID
	})
	return list
}

// ErrNoMulticast is returned when no interface can carry mDNS.
var ErrNoMulticast = fmt.Errorf("no multicast-capable network interface: servers on the network cannot be found; type the server's address")

// Run browses until ctx ends: a round of queries every few seconds, which
// both finds new servers and notices those that went away.
func (b *Browser) Run(ctx context.Context) error {
	goodbyes := &goodbyeListener{browser: b}
	defer b.stopLeaving()
	defer goodbyes.stop()
	for round := 1; ; round++ {
		ifaces, _ := multicastInterfaces()
		if len(ifaces) == 0 {
			return ErrNoMulticast
		}
		goodbyes.on(ctx, ifaces)
		if err := b.round(ctx, round, ifaces); err != nil && ctx.Err() == nil {
			b.logger.Warn("discovery: browse", slog.Any("error", err))
		}
		b.expire(round)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(roundEvery - listenFor):
		}
	}
}

// round asks the network once and listens for the answers.
func (b *Browser) round(ctx context.Context, round int, ifaces []net.Interface) error {
	resolver, err := zeroconf.NewResolver(zeroconf.SelectIfaces(ifaces), zeroconf.SelectIPTraffic(zeroconf.IPv4))
	if err != nil {
		return fmt.Errorf("browse: %w", err)
	}
	listenCtx, cancel := context.WithTimeout(ctx, listenFor)
	defer cancel()
	entries := make(chan *zeroconf.ServiceEntry, 32)
	if err := resolver.Browse(listenCtx, ServiceType, domain, entries); err != nil {
		return fmt.Errorf("browse: %w", err)
	}
	for {
		select {
		case entry, ok := <-entries:
			if !ok {
				return nil
			}
			b.heardFrom(entry, round)
		case <-listenCtx.Done():
			return nil
		}
	}
}

// heardFrom adds or refreshes a server; the same server heard on several
// interfaces is one entry.
func (b *Browser) heardFrom(entry *zeroconf.ServiceEntry, round int) {
	text := parseText(entry.Text)
	key := text[keyID]
	if key == "" {
		key = "name:" + unescapeLabel(entry.Instance)
	}
	server := Server{ID: text[keyID], Name: unescapeLabel(entry.Instance), Port: entry.Port, Version: text[keyVersion], Path: text[keyPath],
		Guests: text[keyGuests] == "1", CertSHA: text[keyCert], CASHA: text[keyCA], LastSeen: time.Now().UTC()}
	for _, ip := range entry.AddrIPv4 {
		server.Addresses = append(server.Addresses, ip.String())
	}
	for _, ip := range entry.AddrIPv6 {
		server.Addresses = append(server.Addresses, ip.String())
	}
	b.mu.Lock()
	old := b.servers[key]
	if old != nil {
		for _, addr := range old.Addresses {
			if !slices.Contains(server.Addresses, addr) {
				server.Addresses = append(server.Addresses, addr)
			}
		}
	}
	sort.Strings(server.Addresses)
	changed := old == nil || old.Name != server.Name || old.Port != server.Port || !slices.Equal(old.Addresses, server.Addresses) ||
		old.CertSHA != server.CertSHA || old.CASHA != server.CASHA || old.Guests != server.Guests
	b.servers[key] = &server
	b.heard[key] = round
	list := b.listLocked()
	b.mu.Unlock()
	if changed && b.onChange != nil {
		b.onChange(list)
	}
}

// expire drops servers not heard for expireRounds rounds.
func (b *Browser) expire(round int) {
	b.removeWhere(func(key string, _ *Server) bool { return round-b.heard[key] >= expireRounds })
}

// removeWhere drops the servers match picks, and tells onChange.
func (b *Browser) removeWhere(match func(key string, s *Server) bool) {
	b.mu.Lock()
	changed := false
	for key, s := range b.servers {
		if match(key, s) {
			delete(b.servers, key)
			delete(b.heard, key)
			changed = true
		}
	}
	list := b.listLocked()
	b.mu.Unlock()
	if changed && b.onChange != nil {
		b.onChange(list)
	}
}

// goodbyeGrace is how long a server that said goodbye has to announce
// itself again before it leaves the list: a server that changes address or
// port withdraws its old announcement and makes a new one at once, and
// should not blink out of the list meanwhile.
const goodbyeGrace = time.Second

// heardOf notes a goodbye (gone) or a sign of life of an instance.
func (b *Browser) heardOf(instance string, gone bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	pending := b.leaving[instance]
	switch {
	case !gone && pending != nil:
		pending.timer.Stop()
		delete(b.leaving, instance)
	case gone && pending == nil:
		removal := &removal{}
		removal.timer = time.AfterFunc(goodbyeGrace, func() { b.withdraw(instance, removal) })
		b.leaving[instance] = removal
	}
}

// removal is a server's removal waiting for the end of its grace.
type removal struct{ timer *time.Timer }

// withdraw drops the server announced under instance: it said goodbye,
// and its grace ran out.
func (b *Browser) withdraw(instance string, r *removal) {
	b.mu.Lock()
	due := b.leaving[instance] == r // else it came back, or browsing stopped
	if due {
		delete(b.leaving, instance)
	}
	b.mu.Unlock()
	if due {
		b.removeWhere(func(_ string, s *Server) bool { return s.Name == instance })
	}
}

// stopLeaving cancels the removals still waiting.
func (b *Browser) stopLeaving() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for instance, pending := range b.leaving {
		pending.timer.Stop()
		delete(b.leaving, instance)
	}
}

// goodbyeListener keeps one listenForGoodbyes running on the interfaces
// of the moment.
type goodbyeListener struct {
	browser *Browser
	ifaces  string // the interfaces it listens on
	cancel  context.CancelFunc
	done    chan struct{}
}

// on listens on ifaces, starting over when they changed.
func (g *goodbyeListener) on(ctx context.Context, ifaces []net.Interface) {
	names := interfaceNames(ifaces)
	if g.cancel != nil && names == g.ifaces {
		return
	}
	g.stop()
	listenCtx, cancel := context.WithCancel(ctx)
	g.ifaces, g.cancel, g.done = names, cancel, make(chan struct{})
	go func() {
		defer close(g.done)
		if err := listenForGoodbyes(listenCtx, ifaces, g.browser.heardOf); err != nil {
			// Servers that leave then go at expiry instead.
			g.browser.logger.Warn("discovery: browse", slog.Any("error", err))
		}
	}()
}

func (g *goodbyeListener) stop() {
	if g.cancel != nil {
		g.cancel()
		<-g.done
		g.cancel = nil
	}
}
