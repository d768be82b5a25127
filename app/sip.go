package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"slices"
	"strconv"
	"sync"
	"syscall"

	"github.com/parleyhq/parley/app/supervisor"
	"github.com/parleyhq/parley/server/accounts"
	"github.com/parleyhq/parley/server/client"
	"github.com/parleyhq/parley/server/settings"
	"github.com/parleyhq/parley/server/signal"
	"github.com/parleyhq/parley/server/sip"
)

// sipService runs the SIP gateway as the "sip" subsystem: UDP and TCP on
// the configured port (the next free one when it is taken), calls' media
// on the RTP port range, callers joined through the server's own
// signalling with the gateway's token.
type sipService struct {
	settings func() settings.Settings
	listen   func() string
	// gateway returns a client of this server's public protocol that
	// carries the gateway's token.
	gateway func() (*client.Client, error)
	// portOverride is the command line's --sip-port: 0 none, -1 off.
	portOverride int
	accounts     sip.Accounts
	// setDialer tells signalling which gateway places moderators' calls.
	setDialer func(signal.Dialer)
	// certificate is the server's TLS certificate, for SIP over TLS.
	certificate func(*tls.ClientHelloInfo) (*tls.Certificate, error)
	logger      *slog.Logger

	mu      sync.Mutex
	port    int
	running *sip.Server
}

// current is the running gateway, nil while there is none.
func (s *sipService) current() *sip.Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running
}

func (s *sipService) Name() string { return "sip" }

// Port is the port the gateway listens on, 0 while it does not.
func (s *sipService) Port() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.port
}

func (s *sipService) Serve(ctx context.Context, st *supervisor.Status) error {
	current := s.settings().SIP
	if s.portOverride > 0 {
		current.Port = s.portOverride
	}
	if !current.Enabled || s.portOverride < 0 {
		st.Ready("off")
		<-ctx.Done()
		return nil
	}
	low, high, err := settings.ParsePortRange(current.RTPPorts)
	if err != nil {
		return fmt.Errorf("RTP ports: %w", err)
	}
	udp, tcp, port, err := listenSIP(s.listen(), current.Port)
	if err != nil {
		return err
	}
	media, err := newPhoneMedia(s.gateway, int(low), int(high), func() string { return s.settings().SIP.Video }, s.logger)
	if err != nil {
		st.Ready("off: " + err.Error())
		<-ctx.Done()
		return nil
	}
	gateway, err := sip.New(sip.Config{Media: media, Accounts: s.accounts, Logger: s.logger,
		RequireAuth: func() bool { return s.settings().SIP.RequireAuth },
		Video:       func() bool { return s.settings().SIP.Video != "off" },
		Trunks:      func() []settings.Trunk { return s.settings().SIP.Trunks }})
	if err != nil {
		udp.Close()
		tcp.Close()
		return err
	}
	s.mu.Lock()
	s.port, s.running = port, gateway
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.port, s.running = 0, nil
		s.mu.Unlock()
	}()
	s.setDialer(gatewayDialer{gateway})
	defer s.setDialer(nil)
	failed := make(chan error, 3)
	var wg sync.WaitGroup
	wg.Go(func() { failed <- gateway.ServeUDP(udp) })
	wg.Go(func() { failed <- gateway.ServeTCP(tcp) })
	note := fmt.Sprintf("UDP and TCP port %d", port)
	var secure net.Listener
	if current.TLSPort != 0 && s.certificate != nil {
		if secure, err = listenSIPS(s.listen(), current.TLSPort, s.certificate); err != nil {
			s.logger.Warn("no SIP over TLS", slog.Any("error", err))
			note += ", no TLS: " + err.Error()
		} else {
			wg.Go(func() { failed <- gateway.ServeTLS(secure) })
			note += fmt.Sprintf(", TLS port %d", secure.Addr().(*net.TCPAddr).Port)
		}
	}
	note += fmt.Sprintf(", media on UDP %d-%d", low, high)
	st.Ready(note)
	// Trunks that register say how it goes in the note.
	// In the background: trunks that register (their state in the note),
	// and the registered phones' keep-alive.
	background, stopBackground := context.WithCancel(ctx)
	var backgroundDone sync.WaitGroup
	var trunkMu sync.Mutex
	trunkStates := map[string]string{}
	backgroundDone.Go(func() { gateway.RunKeepAlive(background) })
	backgroundDone.Go(func() {
		gateway.RunTrunks(background, func(trunk, state string) {
			trunkMu.Lock()
			defer trunkMu.Unlock()
			trunkStates[trunk] = state
			text := note
			for _, name := range slices.Sorted(maps.Keys(trunkStates)) {
				text += "; trunk " + name + " " + trunkStates[name]
			}
			st.Ready(text)
		})
	})
	select {
	case <-ctx.Done():
		err = nil
	case err = <-failed:
		err = fmt.Errorf("SIP listener: %w", err)
	}
	stopBackground() // the trunks unregister
	backgroundDone.Wait()
	gateway.Close() // BYE to every call
	udp.Close()
	tcp.Close()
	if secure != nil {
		secure.Close()
	}
	wg.Wait()
	return err
}

// firstFreePort calls bind with the preferred port, then the next ones
// (portSearch in all) until one binds; it returns that port.
func firstFreePort(preferred int, what string, bind func(port int) error) (int, error) {
	var lastErr error
	for port := preferred; port < preferred+portSearch && port <= 65535; port++ {
		if lastErr = bind(port); lastErr == nil {
			return port, nil
		}
	}
	if errors.Is(lastErr, syscall.EADDRINUSE) {
		return 0, fmt.Errorf("%s ports %d-%d are all in use", what, preferred, preferred+portSearch-1)
	}
	return 0, fmt.Errorf("%s port %d: %w", what, preferred, lastErr)
}

// listenSIP binds UDP and TCP on the same port, the preferred one or the
// next free of portSearch.
func listenSIP(address string, preferred int) (udp net.PacketConn, tcp net.Listener, port int, err error) {
	port, err = firstFreePort(preferred, "SIP", func(port int) error {
		hostPort := net.JoinHostPort(address, strconv.Itoa(port))
		var err error
		if udp, err = net.ListenPacket("udp", hostPort); err != nil {
			return err
		}
		if tcp, err = net.Listen("tcp", hostPort); err != nil {
			udp.Close()
			return err
		}
		return nil
	})
	return udp, tcp, port, err
}

// listenSIPS listens for SIP over TLS with the server's certificate, on
// the preferred port or the next free one.
func listenSIPS(address string, preferred int, certificate func(*tls.ClientHelloInfo) (*tls.Certificate, error)) (net.Listener, error) {
	var l net.Listener
	_, err := firstFreePort(preferred, "SIP over TLS", func(port int) error {
		var err error
		l, err = net.Listen("tcp", net.JoinHostPort(address, strconv.Itoa(port)))
		return err
	})
	if err != nil {
		return nil, err
	}
	return tls.NewListener(l, &tls.Config{GetCertificate: certificate, MinVersion: tls.VersionTLS12}), nil
}

// sipAccounts is sip.Accounts on server/accounts.
type sipAccounts struct{ accounts *accounts.Service }

func (a sipAccounts) SIPUser(ctx context.Context, login string) (sip.SIPUser, error) {
	user, ha1, err := a.accounts.SIPCredentials(ctx, login)
	if err != nil {
		return sip.SIPUser{}, err
	}
	return sip.SIPUser{ID: user.ID, Login: user.Login, DisplayName: user.DisplayName, HA1: ha1}, nil
}

// gatewayDialer is signal.Dialer on the SIP gateway.
type gatewayDialer struct{ gateway *sip.Server }

func (d gatewayDialer) Dial(req signal.DialRequest) (string, error) {
	return d.gateway.Dial(req.CID, req.Target, req.Progress)
}

func (d gatewayDialer) Cancel(call string) error { return d.gateway.Cancel(call) }
