package app

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/parleyhq/parley/discovery"
	"github.com/parleyhq/parley/server/certs"
	"github.com/parleyhq/parley/server/client"
)

// find runs `parley find`: the Parley servers on the local network
// (mDNS), or those a domain's DNS points at (SRV). It is what the desktop
// app's server list and "connect to" box do, for a terminal and scripts.
func (c *command) find(args []string) error {
	set := flag.NewFlagSet("parley find", flag.ContinueOnError)
	set.SetOutput(c.stderr)
	asJSON := set.Bool("json", false, "print JSON (one object per line with --watch)")
	wait := set.Duration("wait", 3*time.Second, "how long to listen on the network")
	watch := set.Bool("watch", false, "keep listening and print servers as they come and go, until Ctrl+C")
	dnsServer := set.String("dns", "", "ask this DNS server (host:port) instead of the system's, for a domain")
	if err := set.Parse(args); err != nil {
		return err
	}
	switch {
	case set.NArg() > 1:
		return usageError{"find takes at most one DOMAIN or e-mail address"}
	case set.NArg() == 1:
		return c.findDomain(set.Arg(0), *dnsServer, *asJSON)
	case *dnsServer != "":
		return usageError{"--dns is for looking up a DOMAIN"}
	case *wait <= 0:
		return usageError{"--wait must be positive, such as 3s"}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *watch {
		return c.watchNetwork(ctx, *asJSON)
	}
	ctx, cancel := context.WithTimeout(ctx, *wait)
	defer cancel()
	browser := discovery.NewBrowser(nil, nil)
	if err := browser.Run(ctx); err != nil {
		return err
	}
	servers := browser.Servers()
	if *asJSON {
		return c.printJSON(servers)
	}
	if len(servers) == 0 {
		fmt.Fprintf(c.stdout, "No Parley server answered on the local network in %s.\n", *wait)
		return nil
	}
	table := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(table, "NAME\tADDRESS\tGUESTS\tCA FINGERPRINT (SHA-256)")
	for _, s := range servers {
		guests := "no"
		if s.Guests {
			guests = "yes"
		}
		fmt.Fprintf(table, "%s\t%s\t%s\t%s\n", s.Name, s.URL(), guests, certs.ReadableFingerprint(s.CASHA))
	}
	return table.Flush()
}

func (c *command) printJSON(v any) error {
	encoder := json.NewEncoder(c.stdout)
	encoder.SetIndent("", "  ")
	return encoder.Encode(v)
}

// watchNetwork prints each change of the list: "+" for a server that
// appeared or changed, "-" for one that left.
func (c *command) watchNetwork(ctx context.Context, asJSON bool) error {
	known := map[string]discovery.Server{}
	changes := make(chan []discovery.Server, 16)
	browser := discovery.NewBrowser(func(list []discovery.Server) {
		select {
		case changes <- list:
		case <-ctx.Done():
		}
	}, nil)
	done := make(chan error, 1)
	go func() { done <- browser.Run(ctx) }()
	for {
		select {
		case err := <-done:
			return err
		case list := <-changes:
			seen := map[string]bool{}
			for _, s := range list {
				seen[s.ID] = true
				if old, ok := known[s.ID]; !ok || old.Name != s.Name || old.URL() != s.URL() || old.CASHA != s.CASHA {
					c.printChange("+", s, asJSON)
				}
				known[s.ID] = s
			}
			for id, s := range known {
				if !seen[id] {
					c.printChange("-", s, asJSON)
					delete(known, id)
				}
			}
		}
	}
}

func (c *command) printChange(sign string, s discovery.Server, asJSON bool) {
	if asJSON {
		event := "up"
		if sign == "-" {
			event = "gone"
		}
		line, _ := json.Marshal(struct {
			Event  string           `json:"event"`
			Server discovery.Server `json:"server"`
		}{event, s})
		fmt.Fprintln(c.stdout, string(line))
		return
	}
	fmt.Fprintf(c.stdout, "%s %s\t%s\n", sign, s.Name, s.URL())
}

// foundTarget is one place a domain's DNS points at, and what answers.
type foundTarget struct {
	Address  string `json:"address"`
	FromSRV  bool   `json:"from_srv"`
	Answered bool   `json:"answered"`
	CASHA256 string `json:"ca_sha256,omitempty"`
	Error    string `json:"error,omitempty"`
}

// findDomain lists where a domain's Parley server may be and checks each
// place for a Parley server (its /ca.crt).
func (c *command) findDomain(input, dnsServer string, asJSON bool) error {
	domain, ok := discovery.DomainOf(input)
	if !ok {
		return usageError{fmt.Sprintf("%q is not a domain or an e-mail address", input)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var resolver *net.Resolver
	if dnsServer != "" {
		if _, _, err := net.SplitHostPort(dnsServer); err != nil {
			return usageError{fmt.Sprintf("--dns %q must be host:port, such as 192.0.2.53:53", dnsServer)}
		}
		resolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, dnsServer)
		}}
	}
	targets, err := discovery.Targets(ctx, resolver, domain)
	if err != nil {
		return err
	}
	var found []foundTarget
	answered := false
	for _, target := range targets {
		result := foundTarget{Address: target.Address(), FromSRV: target.FromSRV}
		attempt, cancelAttempt := context.WithTimeout(ctx, 8*time.Second)
		ca, err := client.FetchCA(attempt, "https://"+target.Address()+"/", client.Options{Resolver: resolver})
		cancelAttempt()
		if err != nil {
			result.Error = err.Error()
		} else {
			result.Answered, answered = true, true
			result.CASHA256, _ = certs.PEMFingerprint(ca)
		}
		found = append(found, result)
	}
	if asJSON {
		if err := c.printJSON(found); err != nil {
			return err
		}
	} else {
		for _, f := range found {
			source := "fallback"
			if f.FromSRV {
				source = "SRV"
			}
			if f.Answered {
				fmt.Fprintf(c.stdout, "%s (%s): a Parley server, CA fingerprint %s\n", f.Address, source, certs.ReadableFingerprint(f.CASHA256))
			} else {
				fmt.Fprintf(c.stdout, "%s (%s): %s\n", f.Address, source, strings.TrimSpace(f.Error))
			}
		}
	}
	if !answered {
		return discovery.NotFound(domain)
	}
	return nil
}
