package sip

import (
	"context"
	"crypto/hmac"
	"crypto/md5" //nolint:gosec // SIP digest authentication is MD5
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/parleyhq/parley/server/accounts"
)

// Accounts finds the Parley users SIP phones sign in as (server/accounts,
// adapted by app).
type Accounts interface {
	// SIPUser returns the enabled user with this login and the digest hash
	// (HA1) of their SIP password; an error when there is none.
	SIPUser(ctx context.Context, login string) (SIPUser, error)
}

// SIPUser is a Parley user with a SIP password.
type SIPUser struct {
	ID          int64
	Login       string
	DisplayName string
	HA1         string // MD5(login ":" Realm ":" password)
}

// Realm is the digest realm; it must be the one the hashes were made for.
const Realm = accounts.SIPRealm

// Registration lifetimes, in seconds: what a phone asks for is kept within
// these.
const (
	minExpires     = 60
	defaultExpires = 600
	maxExpires     = 3600
	nonceLifetime  = 5 * time.Minute
)

// binding is where a registered phone is reached.
type binding struct {
	user    SIPUser
	contact sip.Uri
	// source is where its REGISTER came from (host:port) and over which
	// transport: behind NAT, the only address that reaches it.
	source, transport string
	expires           time.Time
}

// registrar keeps the bindings of registered phones.
type registrar struct {
	secret []byte // signs nonces, so that none needs to be stored

	mu       sync.Mutex
	bindings map[string]binding // by login: one phone per user for now
	now      func() time.Time
}

func newRegistrar() *registrar {
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	return &registrar{secret: secret, bindings: map[string]binding{}, now: time.Now}
}

// lookup returns the live binding of a login.
func (r *registrar) lookup(login string) (binding, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, ok := r.bindings[login]
	if ok && r.now().After(b.expires) {
		delete(r.bindings, login)
		return binding{}, false
	}
	return b, ok
}

// registeredFrom finds the user whose phone registered from source: a
// call from there is that user's.
func (r *registrar) registeredFrom(source string) (SIPUser, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range r.bindings {
		if b.source == source && r.now().Before(b.expires) {
			return b.user, true
		}
	}
	return SIPUser{}, false
}

// nonce makes a nonce that carries its time and proves it is ours.
func (r *registrar) nonce() string {
	stamp := strconv.FormatInt(r.now().Unix(), 16)
	mac := hmac.New(sha256.New, r.secret)
	mac.Write([]byte(stamp))
	return stamp + "." + hex.EncodeToString(mac.Sum(nil)[:12])
}

// fresh reports whether a nonce is ours and recent.
func (r *registrar) fresh(nonce string) bool {
	stamp, sum, ok := strings.Cut(nonce, ".")
	if !ok {
		return false
	}
	mac := hmac.New(sha256.New, r.secret)
	mac.Write([]byte(stamp))
	if !hmac.Equal([]byte(sum), []byte(hex.EncodeToString(mac.Sum(nil)[:12]))) {
		return false
	}
	seconds, err := strconv.ParseInt(stamp, 16, 64)
	return err == nil && r.now().Sub(time.Unix(seconds, 0)) < nonceLifetime
}

func (r *registrar) challenge(stale bool) sip.Header {
	c := digest.Challenge{Realm: Realm, Nonce: r.nonce(), Algorithm: "MD5", QOP: []string{"auth"}, Stale: stale}
	return sip.NewHeader("WWW-Authenticate", c.String())
}

// authenticate checks a request's digest credentials against the
// accounts; ok false means the caller must be challenged (stale: only the
// nonce was old).
func (s *Server) authenticate(ctx context.Context, req *sip.Request) (user SIPUser, ok, stale bool) {
	header := req.GetHeader("Authorization")
	if header == nil || s.cfg.Accounts == nil {
		return SIPUser{}, false, false
	}
	creds, err := digest.ParseCredentials(header.Value())
	if err != nil || creds.Realm != Realm || (creds.Algorithm != "" && !strings.EqualFold(creds.Algorithm, "MD5")) {
		return SIPUser{}, false, false
	}
	user, err = s.cfg.Accounts.SIPUser(ctx, creds.Username)
	if err != nil {
		return SIPUser{}, false, false
	}
	ha2 := md5hex(string(req.Method) + ":" + creds.URI)
	var want string
	switch creds.QOP {
	case "":
		want = md5hex(user.HA1 + ":" + creds.Nonce + ":" + ha2)
	case "auth":
		want = md5hex(fmt.Sprintf("%s:%s:%08x:%s:auth:%s", user.HA1, creds.Nonce, creds.Nc, creds.Cnonce, ha2))
	default:
		return SIPUser{}, false, false
	}
	if !hmac.Equal([]byte(want), []byte(strings.ToLower(creds.Response))) {
		return SIPUser{}, false, false
	}
	if !s.registrar.fresh(creds.Nonce) {
		return SIPUser{}, false, true
	}
	return user, true, false
}

func md5hex(text string) string {
	sum := md5.Sum([]byte(text)) //nolint:gosec // SIP digest
	return hex.EncodeToString(sum[:])
}

// onRegister authenticates a phone as a Parley user and records where it
// is reached (RFC 3261 section 10).
func (s *Server) onRegister(req *sip.Request, tx sip.ServerTransaction) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	user, ok, stale := s.authenticate(ctx, req)
	if !ok {
		s.respond(req, tx, 401, "Unauthorized", s.registrar.challenge(stale))
		return
	}
	to := req.To()
	if to == nil || to.Address.User != user.Login {
		s.respond(req, tx, 403, "Forbidden", sip.NewHeader("Warning", `399 parley "register as your own login"`))
		return
	}
	expires := defaultExpires
	if h := req.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil {
			expires = n
		}
	}
	contact := req.Contact()
	if contact != nil {
		if v := contact.Params.GetOr("expires", ""); v != "" {
			if n, err := strconv.Atoi(v); err == nil {
				expires = n
			}
		}
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	switch {
	case contact == nil: // a query: say what is bound
		if b, ok := s.registrar.lookup(user.Login); ok {
			res.AppendHeader(contactWithExpires(b.contact, int(time.Until(b.expires).Seconds())))
		}
	case expires == 0 || contact.Address.Wildcard:
		s.registrar.mu.Lock()
		delete(s.registrar.bindings, user.Login)
		s.registrar.mu.Unlock()
		s.logger.Info("SIP phone unregistered", slog.String("user", user.Login))
	default:
		if expires < minExpires {
			tooBrief := sip.NewResponseFromRequest(req, 423, "Interval Too Brief", nil)
			tooBrief.AppendHeader(sip.NewHeader("Min-Expires", strconv.Itoa(minExpires)))
			_ = tx.Respond(tooBrief)
			return
		}
		expires = min(expires, maxExpires)
		s.registrar.mu.Lock()
		s.registrar.bindings[user.Login] = binding{user: user, contact: contact.Address, source: req.Source(), transport: req.Transport(),
			expires: s.registrar.now().Add(time.Duration(expires) * time.Second)}
		s.registrar.mu.Unlock()
		res.AppendHeader(contactWithExpires(contact.Address, expires))
		s.logger.Info("SIP phone registered", slog.String("user", user.Login), slog.String("from", req.Source()), slog.Int("expires", expires))
	}
	if err := tx.Respond(res); err != nil {
		s.logger.Debug("SIP REGISTER answer", slog.Any("error", err))
	}
}

func contactWithExpires(address sip.Uri, seconds int) *sip.ContactHeader {
	params := sip.NewParams()
	params.Add("expires", strconv.Itoa(seconds))
	return &sip.ContactHeader{Address: address, Params: params}
}

// DefaultKeepAliveEvery is how often registered phones are asked whether
// they are still there (OPTIONS), which also keeps their NAT bindings
// open.
const DefaultKeepAliveEvery = 30 * time.Second

// keepAliveMisses is how many unanswered OPTIONS in a row unregister a
// phone: calls to it would ring into the void until its registration
// expired.
const keepAliveMisses = 3

// RunKeepAlive asks every registered phone, every Config.KeepAliveEvery,
// whether it is still there, until ctx ends.
func (s *Server) RunKeepAlive(ctx context.Context) {
	ticker := time.NewTicker(s.cfg.KeepAliveEvery)
	defer ticker.Stop()
	misses := map[string]int{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		s.registrar.mu.Lock()
		bindings := make([]binding, 0, len(s.registrar.bindings))
		for _, b := range s.registrar.bindings {
			bindings = append(bindings, b)
		}
		s.registrar.mu.Unlock()
		for _, b := range bindings {
			if s.ping(ctx, b) {
				delete(misses, b.user.Login)
				continue
			}
			if misses[b.user.Login]++; misses[b.user.Login] >= keepAliveMisses {
				delete(misses, b.user.Login)
				s.registrar.mu.Lock()
				if current, ok := s.registrar.bindings[b.user.Login]; ok && current.source == b.source {
					delete(s.registrar.bindings, b.user.Login)
				}
				s.registrar.mu.Unlock()
				s.logger.Info("SIP phone unregistered: it no longer answers", slog.String("user", b.user.Login), slog.String("at", b.source))
			}
		}
	}
}

// ping sends one OPTIONS to a registered phone; any answer counts.
func (s *Server) ping(ctx context.Context, b binding) bool {
	req := sip.NewRequest(sip.OPTIONS, b.contact)
	req.SetDestination(b.source)
	req.SetTransport(strings.ToUpper(b.transport))
	attempt, cancel := context.WithTimeout(ctx, min(5*time.Second, s.cfg.KeepAliveEvery))
	defer cancel()
	_, err := s.client.Do(attempt, req)
	return err == nil
}
