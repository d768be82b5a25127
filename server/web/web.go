// Package web owns Parley's listening sockets: the HTTPS server (TLS from
// the certificate manager, the next free port when the chosen one is
// taken, graceful shutdown that lets requests in flight finish) and the
// plain-HTTP port that only redirects to HTTPS. The HTTPS port also takes
// ICE-TCP media connections, told apart by their first bytes, and hands
// them to the media plane.
package web

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Reporter receives the subsystem's state; the supervisor's Status is one.
type Reporter interface {
	Ready(note string)
	Degraded(reason string)
}

// Ports says where to listen: an address ("" for all) and the preferred
// HTTPS and HTTP-redirect ports (0 for no redirect).
type Ports struct {
	Address   string
	HTTPSPort int
	HTTPPort  int
}

// Server is the web subsystem.
type Server struct {
	handler        http.Handler
	getCertificate func(*tls.ClientHelloInfo) (*tls.Certificate, error)
	ports          func() Ports
	logger         *slog.Logger
	iceTCP         func(net.Conn)

	mu        sync.Mutex
	httpsPort int // bound port, 0 while not listening
	httpPort  int
	httpsAddr net.Addr
}

// New returns the web subsystem. ports is read at every (re)start.
func New(handler http.Handler, getCertificate func(*tls.ClientHelloInfo) (*tls.Certificate, error), ports func() Ports, logger *slog.Logger) *Server {
	return &Server{handler: handler, getCertificate: getCertificate, ports: ports, logger: logger}
}

// PassICETCP hands the ICE-TCP connections that arrive on the HTTPS port
// to fn, which owns them from then on. Call it before Serve; without it
// such connections are closed.
func (s *Server) PassICETCP(fn func(net.Conn)) { s.iceTCP = fn }

// portSearch is how many ports after the preferred one are tried.
const portSearch = 100

// shutdownGrace is how long requests in flight may take to finish.
const shutdownGrace = 10 * time.Second

// Name is the subsystem's name in the status report.
func (s *Server) Name() string { return "web" }

// HTTPSPort is the bound HTTPS port, 0 when not listening.
func (s *Server) HTTPSPort() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.httpsPort
}

// HTTPSAddr is the bound HTTPS address, nil when not listening.
func (s *Server) HTTPSAddr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.httpsAddr
}

// Serve listens and serves until ctx ends, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context, st Reporter) error {
	ports := s.ports()
	// After a restart, prefer the port we had, so that open pages and
	// printed links keep working.
	preferred := ports.HTTPSPort
	if previous := s.HTTPSPort(); previous != 0 {
		preferred = previous
	}
	tcpListener, httpsPort, err := listenFree(ctx, ports.Address, preferred)
	if err != nil {
		return err
	}
	tlsListener := newDemuxListener(tcpListener, s.iceTCP, s.logger)
	defer tlsListener.wait()
	notes := []string{}
	if httpsPort != ports.HTTPSPort {
		notes = append(notes, fmt.Sprintf("port %d in use, serving HTTPS on port %d", ports.HTTPSPort, httpsPort))
	}
	httpsServer := s.newServer(s.handler)
	httpsServer.TLSConfig = &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: s.getCertificate,
		NextProtos:     []string{"h2", "http/1.1"},
	}

	var redirectServer *http.Server
	var redirectListener net.Listener
	httpPort := 0
	if ports.HTTPPort != 0 {
		redirectListener, httpPort, err = listenFree(ctx, ports.Address, ports.HTTPPort)
		if err != nil {
			// HTTPS is what matters; a missing redirect only degrades.
			notes = append(notes, "no HTTP redirect: "+err.Error())
		} else {
			redirectServer = s.newServer(redirectToHTTPS(httpsPort))
			if httpPort != ports.HTTPPort {
				notes = append(notes, fmt.Sprintf("port %d in use, redirecting HTTP from port %d", ports.HTTPPort, httpPort))
			}
		}
	}

	s.mu.Lock()
	s.httpsPort, s.httpPort = httpsPort, httpPort
	s.httpsAddr = tcpListener.Addr()
	s.mu.Unlock()

	failed := make(chan error, 2)
	var serving sync.WaitGroup
	serving.Go(func() { failed <- httpsServer.ServeTLS(tlsListener, "", "") })
	if redirectServer != nil {
		serving.Go(func() { failed <- redirectServer.Serve(redirectListener) })
	}
	s.logger.Info("web server listening", slog.Int("https_port", httpsPort), slog.Int("http_port", httpPort))
	note := joinNotes(notes)
	if redirectServer == nil && ports.HTTPPort != 0 {
		st.Degraded(note)
	} else {
		st.Ready(note)
	}

	var result error
	select {
	case <-ctx.Done():
	case err := <-failed:
		result = fmt.Errorf("web server stopped: %w", err)
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	shutdownErr := httpsServer.Shutdown(shutdownCtx)
	if redirectServer != nil {
		shutdownErr = errors.Join(shutdownErr, redirectServer.Shutdown(shutdownCtx))
	}
	serving.Wait()
	if shutdownErr != nil {
		s.logger.Warn("web server did not shut down cleanly", slog.Any("error", shutdownErr))
	}
	return result
}

func (s *Server) newServer(handler http.Handler) *http.Server {
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		// TLS handshake failures from browsers that do not trust the CA yet
		// are routine: keep them out of the normal log.
		ErrorLog: slog.NewLogLogger(s.logger.Handler(), slog.LevelDebug),
	}
}

func joinNotes(notes []string) string {
	text := ""
	for i, n := range notes {
		if i > 0 {
			text += "; "
		}
		text += n
	}
	return text
}

// listenFree listens on the preferred port, or the next free one.
func listenFree(ctx context.Context, address string, preferred int) (net.Listener, int, error) {
	var config net.ListenConfig
	var firstErr error
	for port := preferred; port < preferred+portSearch && port <= 65535; port++ {
		listener, err := config.Listen(ctx, "tcp", net.JoinHostPort(address, strconv.Itoa(port)))
		if err == nil {
			return listener, listener.Addr().(*net.TCPAddr).Port, nil
		}
		if firstErr == nil {
			firstErr = err
		}
		if !addressInUse(err) {
			break
		}
	}
	if addressInUse(firstErr) {
		return nil, 0, fmt.Errorf("port %d in use, and the %d ports after it too", preferred, portSearch-1)
	}
	return nil, 0, fmt.Errorf("listen on port %d: %w", preferred, firstErr)
}

// redirectToHTTPS sends every plain-HTTP request to the HTTPS port of the
// same host.
func redirectToHTTPS(httpsPort int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(r.Host); err == nil {
			host = h
		}
		if host == "" {
			http.Error(w, "use HTTPS", http.StatusBadRequest)
			return
		}
		target := "https://" + net.JoinHostPort(host, strconv.Itoa(httpsPort)) + r.URL.RequestURI()
		status := http.StatusMovedPermanently
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			status = http.StatusPermanentRedirect
		}
		http.Redirect(w, r, target, status)
	})
}

// Forget drops the port of the last run, so that the next run listens on
// the configured port again rather than keeping the old one (after a
// change of settings).
func (s *Server) Forget() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.httpsPort, s.httpPort, s.httpsAddr = 0, 0, nil
}
