// Package client is the Go client of Parley's public HTTP API. The desktop
// app, the tests and the benchmark talk to a server, embedded or remote,
// only through it, exactly as the browser client does.
package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/parleyhq/parley/server/accounts"
)

// Options configure a Client.
type Options struct {
	// CACertPEM is the CA to trust for the server's certificate; nil means
	// the system's roots.
	CACertPEM []byte
	// Cookies makes the client sign in like a browser, with a session
	// cookie, instead of a bearer token.
	Cookies bool
	// Timeout bounds each request; 0 means 30 seconds.
	Timeout time.Duration
	// Resolver looks up host names; nil means the system's.
	Resolver *net.Resolver
}

// transport is the HTTP transport for a server, with the TLS settings
// given and opts' resolver.
func (opts Options) transport(tlsConfig *tls.Config) *http.Transport {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = tlsConfig
	if opts.Resolver != nil {
		dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Resolver: opts.Resolver}
		transport.DialContext = dialer.DialContext
	}
	return transport
}

// Client calls one server.
type Client struct {
	base    *url.URL
	http    *http.Client
	cookies bool

	mu    sync.Mutex
	token string
}

// New returns a client of the server at baseURL ("https://host:port/").
func New(baseURL string, opts Options) (*Client, error) {
	base, err := url.Parse(baseURL)
	if err != nil || base.Scheme != "https" || base.Host == "" {
		return nil, fmt.Errorf("server address %q must look like https://host:port/", baseURL)
	}
	base.Path = "/"
	transport := opts.transport(&tls.Config{MinVersion: tls.VersionTLS12})
	if opts.CACertPEM != nil {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(opts.CACertPEM) {
			return nil, errors.New("the CA certificate is not valid PEM")
		}
		transport.TLSClientConfig.RootCAs = pool
	}
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	httpClient := &http.Client{Transport: transport, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if opts.Cookies {
		httpClient.Jar, _ = cookiejar.New(nil)
	}
	return &Client{base: base, http: httpClient, cookies: opts.Cookies}, nil
}

// Error is an error answer of the server.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%d %s (%s): %s", e.Status, e.Code, e.Field, e.Message)
	}
	return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
}

// StatusOf returns the HTTP status of an *Error, or 0.
func StatusOf(err error) int {
	var apiErr *Error
	if errors.As(err, &apiErr) {
		return apiErr.Status
	}
	return 0
}

// Do sends a request with body encoded as JSON (none when nil) and decodes
// a successful answer into out (ignored when nil). Query parameters may be
// part of path.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) error {
	var reader io.Reader
	if body != nil {
		encoded, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		reader = bytes.NewReader(encoded)
	}
	header := http.Header{}
	if body != nil {
		header.Set("Content-Type", "application/json")
	}
	resp, err := c.Raw(ctx, method, path, header, reader)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return readError(resp)
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// Raw sends a request as given, adding only the session and the Origin a
// browser would send; the caller reads and closes the answer.
func (c *Client) Raw(ctx context.Context, method, path string, header http.Header, body io.Reader) (*http.Response, error) {
	target, err := url.Parse(path)
	if err != nil {
		return nil, fmt.Errorf("path %q: %w", path, err)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base.ResolveReference(target).String(), body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	for key, values := range header {
		req.Header[key] = values
	}
	if req.Header.Get("Origin") == "" {
		req.Header.Set("Origin", strings.TrimSuffix(c.base.String(), "/"))
	}
	if token := c.Token(); token != "" && req.Header.Get("Authorization") == "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	return resp, nil
}

func readError(resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var envelope struct {
		Error *Error `json:"error"`
	}
	if json.Unmarshal(body, &envelope) == nil && envelope.Error != nil {
		envelope.Error.Status = resp.StatusCode
		return envelope.Error
	}
	return &Error{Status: resp.StatusCode, Code: "http", Message: strings.TrimSpace(string(body))}
}

// SetToken makes later requests carry a bearer token obtained elsewhere
// (the desktop app's session on its own server).
func (c *Client) SetToken(token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.token = token
}

// Token is the bearer token in use, "" when none.
func (c *Client) Token() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.token
}

// Identity is who the client is signed in as.
type Identity struct {
	User    accounts.User    `json:"user"`
	Rights  []string         `json:"rights"`
	Session accounts.Session `json:"session"`
	Token   string           `json:"token,omitempty"`
}

// SignIn opens a session: a cookie when the client was made with Cookies,
// else a bearer token that later requests carry.
func (c *Client) SignIn(ctx context.Context, login, password string) (Identity, error) {
	kind := accounts.BearerSession
	if c.cookies {
		kind = accounts.CookieSession
	}
	var id Identity
	err := c.Do(ctx, http.MethodPost, "/api/v1/auth/sign-in",
		map[string]any{"login": login, "password": password, "session": kind, "label": "parley go client"}, &id)
	if err != nil {
		return Identity{}, err
	}
	c.mu.Lock()
	c.token = id.Token
	c.mu.Unlock()
	return id, nil
}

// SignOut ends the session.
func (c *Client) SignOut(ctx context.Context) error {
	err := c.Do(ctx, http.MethodPost, "/api/v1/auth/sign-out", nil, nil)
	c.mu.Lock()
	c.token = ""
	c.mu.Unlock()
	return err
}

// Subsystem is one line of the status report.
type Subsystem struct {
	Name     string    `json:"name"`
	State    string    `json:"state"`
	Reason   string    `json:"reason,omitempty"`
	Since    time.Time `json:"since"`
	Restarts int       `json:"restarts"`
}

// Status is GET /api/v1/status.
type Status struct {
	Server struct {
		Name    string `json:"name"`
		ID      string `json:"id"`
		Version string `json:"version"`
	} `json:"server"`
	SetupRequired bool        `json:"setup_required"`
	Subsystems    []Subsystem `json:"subsystems"`
}

// Subsystem returns the named subsystem's line, if present.
func (s Status) Subsystem(name string) (Subsystem, bool) {
	for _, sub := range s.Subsystems {
		if sub.Name == name {
			return sub, true
		}
	}
	return Subsystem{}, false
}

// Status reads the server's status; it needs no session.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var s Status
	err := c.Do(ctx, http.MethodGet, "/api/v1/status", nil, &s)
	return s, err
}

// CompleteSetup creates the owner with a setup link's token and signs in.
func (c *Client) CompleteSetup(ctx context.Context, token string, owner accounts.NewUser) (Identity, error) {
	var id Identity
	err := c.Do(ctx, http.MethodPost, "/api/v1/setup", map[string]any{
		"token": token, "login": owner.Login, "display_name": owner.DisplayName, "email": owner.Email, "password": owner.Password,
	}, &id)
	return id, err
}
