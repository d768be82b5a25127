package discovery

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/grandcat/zeroconf"
)

// Reporter receives the subsystem's state; the supervisor's Status is one.
type Reporter interface {
	Ready(note string)
	Degraded(reason string)
}

// Timings of the advertiser.
const (
	// checkEvery is how often the announcement and the interfaces are
	// compared with what is announced, to announce again on a change.
	checkEvery = 10 * time.Second
	// conflictEvery is how often a registered name is checked against
	// another host taking it too (two hosts started together).
	conflictEvery = 30 * time.Second
	// lookupFor is how long a name check listens for answers.
	lookupFor   = 1500 * time.Millisecond
	maxAttempts = 30
)

// Advertiser announces a server on every multicast-capable interface.
type Advertiser struct {
	current func() (Announcement, bool) // false while there is nothing to announce yet
	logger  *slog.Logger
}

// NewAdvertiser returns an advertiser of what current says; it is read at
// every check, so changes of name, port or certificate are announced.
func NewAdvertiser(current func() (Announcement, bool), logger *slog.Logger) *Advertiser {
	if logger == nil {
		logger = slog.Default()
	}
	return &Advertiser{current: current, logger: logger}
}

// Serve announces until ctx ends, then says goodbye so that browsers drop
// the server at once.
func (a *Advertiser) Serve(ctx context.Context, st Reporter) error {
	var active *registration
	defer func() { active.stop() }()
	ticker := time.NewTicker(checkEvery)
	defer ticker.Stop()
	lastConflictCheck := time.Now()
	for {
		announcement, ok := a.current()
		ifaces, addresses := multicastInterfaces()
		if ok && announcement.Address != "" {
			ifaces, addresses = onlyAddress(ifaces, addresses, announcement.Address)
		}
		switch {
		case !ok:
			active.stop()
			active = nil
			st.Degraded("waiting for the web service before announcing the server")
		case len(ifaces) == 0 && announcement.Address != "":
			active.stop()
			active = nil
			st.Degraded(fmt.Sprintf("the server listens on %s only, which is on no multicast-capable network interface: colleagues must type the server's address", announcement.Address))
		case len(ifaces) == 0:
			active.stop()
			active = nil
			st.Degraded("no multicast-capable network interface: colleagues must type the server's address")
		default:
			key := fmt.Sprint(announcement, addresses, interfaceNames(ifaces))
			conflict := false
			if active != nil && time.Since(lastConflictCheck) >= conflictEvery {
				lastConflictCheck = time.Now()
				conflict = a.outranked(ctx, active, ifaces)
			}
			if active == nil || active.key != key || conflict {
				// A new address or port keeps the name this server holds,
				// without asking the network again, so that the new
				// announcement follows the goodbye at once.
				held := ""
				if active != nil && !conflict {
					held = active.instance
				}
				active.stop()
				var err error
				if active, err = a.register(ctx, announcement, key, ifaces, addresses, held); err != nil {
					if ctx.Err() != nil {
						return nil
					}
					return err
				}
			}
			st.Ready(fmt.Sprintf("announcing %q on %s", active.instance, interfaceNames(ifaces)))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

// registration is one announcement on the network.
type registration struct {
	key      string
	instance string
	id       string
	parley   *zeroconf.Server
	web      *zeroconf.Server
}

// stop withdraws the announcement: zeroconf sends goodbye packets.
func (r *registration) stop() {
	if r == nil {
		return
	}
	r.parley.Shutdown()
	r.web.Shutdown()
}

// register announces under the first free name: DNS-SD's rule is that a
// name another host uses gets a number, "Office (2)". held is a name this
// server announced until now, free by definition.
func (a *Advertiser) register(ctx context.Context, ann Announcement, key string, ifaces []net.Interface, addresses []string, held string) (*registration, error) {
	// A host name of our own: two servers on one machine, or behind one
	// name, must not answer for each other's addresses.
	host := "parley-" + shortID(ann.ServerID)
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		name := instanceName(ann.Name, attempt)
		if name != held {
			others, err := a.holders(ctx, name, ifaces)
			if err != nil {
				return nil, err
			}
			if others.takenBy(ann.ServerID) {
				a.logger.Info("discovery: name taken on the network, trying another", slog.String("name", name))
				continue
			}
		}
		parley, err := zeroconf.RegisterProxy(escapeLabel(name), ServiceType, domain, ann.Port, host, addresses, ann.text(), ifaces)
		if err != nil {
			return nil, fmt.Errorf("announce %s: %w", ServiceType, err)
		}
		web, err := zeroconf.RegisterProxy(escapeLabel(name), webService, domain, ann.Port, host, addresses, []string{keyPath + "=" + pathOf(ann)}, ifaces)
		if err != nil {
			parley.Shutdown()
			return nil, fmt.Errorf("announce %s: %w", webService, err)
		}
		a.logger.Info("discovery: announcing", slog.String("name", name), slog.Int("port", ann.Port),
			slog.String("interfaces", interfaceNames(ifaces)))
		return &registration{key: key, instance: name, id: ann.ServerID, parley: parley, web: web}, nil
	}
	return nil, fmt.Errorf("no free name for %q on the network after %d tries", ann.Name, maxAttempts)
}

func pathOf(ann Announcement) string {
	if ann.Path == "" {
		return "/"
	}
	return ann.Path
}

func shortID(id string) string {
	id = strings.ToLower(id)
	if len(id) > 12 {
		id = id[:12]
	}
	if id == "" {
		return "server"
	}
	return id
}

// holderSet is the server ids that answered for a name.
type holderSet map[string]bool

// takenBy reports whether a server other than id holds the name.
func (h holderSet) takenBy(id string) bool {
	for holder := range h {
		if holder != id {
			return true
		}
	}
	return false
}

// holders asks the network who answers for an instance name.
func (a *Advertiser) holders(ctx context.Context, name string, ifaces []net.Interface) (holderSet, error) {
	resolver, err := zeroconf.NewResolver(zeroconf.SelectIfaces(ifaces), zeroconf.SelectIPTraffic(zeroconf.IPv4))
	if err != nil {
		return nil, fmt.Errorf("look for %q on the network: %w", name, err)
	}
	lookupCtx, cancel := context.WithTimeout(ctx, lookupFor)
	defer cancel()
	entries := make(chan *zeroconf.ServiceEntry, 16)
	if err := resolver.Lookup(lookupCtx, escapeLabel(name), ServiceType, domain, entries); err != nil {
		return nil, fmt.Errorf("look for %q on the network: %w", name, err)
	}
	found := holderSet{}
	for {
		select {
		case entry, ok := <-entries:
			if !ok {
				return found, nil
			}
			// zeroconf v1.0.0's Lookup does not filter by instance:
			// answers about every Parley server arrive.
			if unescapeLabel(entry.Instance) != name {
				continue
			}
			if id := parseText(entry.Text)[keyID]; id != "" {
				found[id] = true
			}
		case <-lookupCtx.Done():
			return found, nil
		}
	}
}

// outranked reports whether another server announces our name too and
// should keep it: of two servers that took one name at the same moment,
// the one with the lower id keeps it and the other renames itself.
func (a *Advertiser) outranked(ctx context.Context, r *registration, ifaces []net.Interface) bool {
	others, err := a.holders(ctx, r.instance, ifaces)
	if err != nil {
		return false
	}
	for id := range others {
		if id != r.id && id < r.id {
			a.logger.Warn("discovery: another server announces the same name; renaming", slog.String("name", r.instance))
			return true
		}
	}
	return false
}
