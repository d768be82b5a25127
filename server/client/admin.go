package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/parleyhq/parley/server/accounts"
	"github.com/parleyhq/parley/server/api"
	"github.com/parleyhq/parley/server/conference"
	"github.com/parleyhq/parley/server/iceservers"
	"github.com/parleyhq/parley/server/settings"
)

// The account types are the server's own plain data types; these names let
// callers use them without reaching into the server's packages.
type (
	// User is an account as the API shows it.
	User = accounts.User
	// NewUser is what creating an account takes.
	NewUser = accounts.NewUser
	// UserPatch changes some fields of an account; nil fields stay.
	UserPatch = accounts.UserPatch
	// Role is what a user may do on the server as a whole.
	Role = accounts.Role
	// Group is a named set of rights.
	Group = accounts.Group
	// GroupPatch changes a group's name or rights; nil fields stay.
	GroupPatch = accounts.GroupPatch
	// Right is one thing a group lets its members do.
	Right = accounts.Right
)

// CharacterClasses counts the kinds of characters in a password, as the
// server's password policy does, so that an app can warn before sending.
var CharacterClasses = accounts.CharacterClasses

// BaseURL is the server address the client was made for, "https://host:port/".
func (c *Client) BaseURL() string { return c.base.String() }

// Close drops the client's idle connections; the client stays usable.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// FetchCA downloads a server's CA certificate (GET /ca.crt) WITHOUT
// verifying the server: the first step of trusting a server on first use.
// The caller must show the certificate's fingerprint and ask before
// trusting it. The answer must be one PEM CA certificate. Of opts, only
// the resolver counts.
func FetchCA(ctx context.Context, baseURL string, opts Options) ([]byte, error) {
	base, err := url.Parse(baseURL)
	if err != nil || base.Scheme != "https" || base.Host == "" {
		return nil, fmt.Errorf("server address %q must look like https://host:port/", baseURL)
	}
	// Nothing is trusted yet: the user checks the fingerprint instead.
	transport := opts.transport(&tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: true}) //nolint:gosec // trust on first use
	httpClient := &http.Client{Transport: transport, Timeout: 15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	defer httpClient.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base.ResolveReference(&url.URL{Path: "/ca.crt"}).String(), nil)
	if err != nil {
		return nil, fmt.Errorf("fetch CA: %w", err)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch CA: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch CA: %s answered %d; is it a Parley server?", base.Host, resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("fetch CA: %w", err)
	}
	if _, err := ParseCA(data); err != nil {
		return nil, fmt.Errorf("fetch CA from %s: %w", base.Host, err)
	}
	return data, nil
}

// ParseCA reads one PEM certificate that is a certificate authority.
func ParseCA(data []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("the CA is not a PEM certificate")
	}
	ca, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("the CA certificate is unreadable: %w", err)
	}
	if !ca.IsCA {
		return nil, errors.New("the certificate is not a certificate authority")
	}
	return ca, nil
}

// Me reads who the client is signed in as.
func (c *Client) Me(ctx context.Context) (Identity, error) {
	var id Identity
	err := c.Do(ctx, http.MethodGet, "/api/v1/me", nil, &id)
	return id, err
}

// SetupInfo is what a valid setup token shows before the owner exists.
type SetupInfo struct {
	ServerName     string         `json:"server_name"`
	PasswordPolicy PasswordPolicy `json:"password_policy"`
}

// SetupInfo checks a setup token and reads the server's name and policy.
func (c *Client) SetupInfo(ctx context.Context, token string) (SetupInfo, error) {
	var info SetupInfo
	err := c.Do(ctx, http.MethodGet, "/api/v1/setup/"+url.PathEscape(token), nil, &info)
	return info, err
}

// UserQuery filters the user list; zero fields do not filter.
type UserQuery struct {
	Query  string // part of the login, display name or email
	Group  int64
	Limit  int
	Offset int
}

// Users lists accounts, ordered by display name.
func (c *Client) Users(ctx context.Context, q UserQuery) ([]User, error) {
	values := url.Values{}
	setNonEmpty(values, "q", q.Query)
	setPositive(values, "group", q.Group)
	setPositive(values, "limit", int64(q.Limit))
	setPositive(values, "offset", int64(q.Offset))
	var answer struct {
		Users []User `json:"users"`
	}
	err := c.Do(ctx, http.MethodGet, withQuery("/api/v1/users", values), nil, &answer)
	return answer.Users, err
}

// CreateUser adds an account.
func (c *Client) CreateUser(ctx context.Context, u NewUser) (User, error) {
	var user User
	err := c.Do(ctx, http.MethodPost, "/api/v1/users", u, &user)
	return user, err
}

// UpdateUser changes an account.
func (c *Client) UpdateUser(ctx context.Context, id int64, patch UserPatch) (User, error) {
	var user User
	err := c.Do(ctx, http.MethodPatch, userPath(id, ""), patch, &user)
	return user, err
}

// ResetPassword sets another user's password and ends their sessions.
func (c *Client) ResetPassword(ctx context.Context, id int64, password string) error {
	return c.Do(ctx, http.MethodPost, userPath(id, "/password"), map[string]string{"password": password}, nil)
}

// SetSIPPassword sets (or with "" removes) the password a user's SIP
// phone registers with.
func (c *Client) SetSIPPassword(ctx context.Context, id int64, password string) error {
	return c.Do(ctx, http.MethodPut, userPath(id, "/sip-password"), map[string]string{"password": password}, nil)
}

// UnlockUser lifts a lockout after failed sign-ins.
func (c *Client) UnlockUser(ctx context.Context, id int64) error {
	return c.Do(ctx, http.MethodPost, userPath(id, "/unlock"), nil, nil)
}

// SignOutUser ends every session of a user.
func (c *Client) SignOutUser(ctx context.Context, id int64) error {
	return c.Do(ctx, http.MethodPost, userPath(id, "/sign-out"), nil, nil)
}

func userPath(id int64, action string) string {
	return "/api/v1/users/" + strconv.FormatInt(id, 10) + action
}

// Rights lists the rights groups can grant, in the order to show them.
func (c *Client) Rights(ctx context.Context) ([]Right, error) {
	var answer struct {
		Rights []Right `json:"rights"`
	}
	err := c.Do(ctx, http.MethodGet, "/api/v1/rights", nil, &answer)
	return answer.Rights, err
}

// Groups lists every group, the built-in ones included.
func (c *Client) Groups(ctx context.Context) ([]Group, error) {
	var answer struct {
		Groups []Group `json:"groups"`
	}
	err := c.Do(ctx, http.MethodGet, "/api/v1/groups", nil, &answer)
	return answer.Groups, err
}

// CreateGroup adds a group.
func (c *Client) CreateGroup(ctx context.Context, name string, rights []string) (Group, error) {
	if rights == nil {
		rights = []string{}
	}
	var group Group
	err := c.Do(ctx, http.MethodPost, "/api/v1/groups", map[string]any{"name": name, "rights": rights}, &group)
	return group, err
}

// UpdateGroup renames a group or changes its rights.
func (c *Client) UpdateGroup(ctx context.Context, id int64, patch GroupPatch) (Group, error) {
	var group Group
	err := c.Do(ctx, http.MethodPatch, "/api/v1/groups/"+strconv.FormatInt(id, 10), patch, &group)
	return group, err
}

// DeleteGroup deletes a group; its members keep their accounts.
func (c *Client) DeleteGroup(ctx context.Context, id int64) error {
	return c.Do(ctx, http.MethodDelete, "/api/v1/groups/"+strconv.FormatInt(id, 10), nil, nil)
}

// The settings' types are the server's own.
type (
	// Settings are the administrator's settings (docs/api.md).
	Settings = settings.Settings
	// PasswordPolicy is what a new password must meet.
	PasswordPolicy = settings.PasswordPolicy
	// Trunk is a SIP rule: a PBX or provider numbers are called through.
	Trunk = settings.Trunk
)

// The STUN and TURN servers' types are the server's own.
type (
	// ICEServer is one entry of the list handed to clients, as in WebRTC's
	// RTCIceServer.
	ICEServer = iceservers.Server
	// ICECheck is what contacting one URL of an ICE server gave.
	ICECheck = iceservers.Result
)

// Settings reads the settings.
func (c *Client) Settings(ctx context.Context) (Settings, error) {
	var s Settings
	err := c.Do(ctx, http.MethodGet, "/api/v1/settings", nil, &s)
	return s, err
}

// UpdateSettings changes the settings named in patch (JSON keys; nested
// objects are merged field by field) and returns them all with the keys
// that changed. Nothing is stored unless every value is valid.
func (c *Client) UpdateSettings(ctx context.Context, patch map[string]any) (Settings, []string, error) {
	var answer struct {
		Settings Settings `json:"settings"`
		Changed  []string `json:"changed"`
	}
	err := c.Do(ctx, http.MethodPatch, "/api/v1/settings", patch, &answer)
	return answer.Settings, answer.Changed, err
}

// CheckICEServers contacts STUN and TURN servers the way clients will and
// reports on each URL. servers is nil for what clients get now (the
// built-in TURN server included), or a list not saved yet in any form
// the ice_servers setting takes: a []ICEServer, text in JSON or the
// loose pasted form, or the simple form's four fields.
func (c *Client) CheckICEServers(ctx context.Context, servers any) ([]iceservers.Result, error) {
	var body any
	if servers != nil {
		body = map[string]any{"ice_servers": servers}
	}
	var answer struct {
		Results []iceservers.Result `json:"results"`
	}
	if err := c.Do(ctx, http.MethodPost, "/api/v1/settings/ice-servers/check", body, &answer); err != nil {
		return nil, fmt.Errorf("check the ICE servers: %w", err)
	}
	return answer.Results, nil
}

// CertificateInfo describes the HTTPS certificate in use.
type CertificateInfo struct {
	Source      string    `json:"source"` // generated or uploaded
	Subject     string    `json:"subject"`
	Issuer      string    `json:"issuer"`
	DNSNames    []string  `json:"dns_names"`
	IPAddresses []string  `json:"ip_addresses"`
	NotBefore   time.Time `json:"not_before"`
	NotAfter    time.Time `json:"not_after"`
	SHA256      string    `json:"sha256"`
	ExpiresSoon bool      `json:"expires_soon"`
}

// Certificate reads the HTTPS certificate's details.
func (c *Client) Certificate(ctx context.Context) (CertificateInfo, error) {
	var info CertificateInfo
	err := c.Do(ctx, http.MethodGet, "/api/v1/tls", nil, &info)
	return info, err
}

// UploadCertificate serves an administrator's certificate (PEM: the server
// certificate, then intermediates) with its private key.
func (c *Client) UploadCertificate(ctx context.Context, certificatePEM, privateKeyPEM string) (CertificateInfo, error) {
	var info CertificateInfo
	err := c.Do(ctx, http.MethodPut, "/api/v1/tls", map[string]string{"certificate": certificatePEM, "private_key": privateKeyPEM}, &info)
	return info, err
}

// UseGeneratedCertificate drops an uploaded certificate for the generated one.
func (c *Client) UseGeneratedCertificate(ctx context.Context) (CertificateInfo, error) {
	var info CertificateInfo
	err := c.Do(ctx, http.MethodDelete, "/api/v1/tls", nil, &info)
	return info, err
}

// ReissueCertificate makes a fresh generated certificate.
func (c *Client) ReissueCertificate(ctx context.Context) (CertificateInfo, error) {
	var info CertificateInfo
	err := c.Do(ctx, http.MethodPost, "/api/v1/tls/reissue", nil, &info)
	return info, err
}

// EventQuery filters the event log; zero fields do not filter.
type EventQuery struct {
	Kind   string // one kind, or a prefix ending in "." such as "auth."
	User   int64  // as actor or subject
	Since  time.Time
	Until  time.Time
	Before int64 // an event id, for paging
	Limit  int   // default 100, at most 1000
}

func (q EventQuery) values() url.Values {
	values := url.Values{}
	setNonEmpty(values, "kind", q.Kind)
	setPositive(values, "user", q.User)
	if !q.Since.IsZero() {
		values.Set("since", q.Since.UTC().Format(time.RFC3339))
	}
	if !q.Until.IsZero() {
		values.Set("until", q.Until.UTC().Format(time.RFC3339))
	}
	setPositive(values, "before", q.Before)
	setPositive(values, "limit", int64(q.Limit))
	return values
}

// EventPerson names a user in an event as they are named now.
type EventPerson struct {
	ID          int64  `json:"id"`
	Login       string `json:"login"`
	DisplayName string `json:"display_name"`
}

// Event is one entry of the audit trail.
type Event struct {
	ID          int64           `json:"id"`
	At          time.Time       `json:"at"`
	Kind        string          `json:"kind"`
	ActorUser   *EventPerson    `json:"actor_user,omitempty"`
	Actor       string          `json:"actor,omitempty"` // "system" or "host" when no user acted
	Source      string          `json:"source,omitempty"`
	SubjectUser *EventPerson    `json:"subject_user,omitempty"`
	Subject     string          `json:"subject,omitempty"`
	Details     json.RawMessage `json:"details"`
}

// Events reads a page of the event log, newest first, and the id to pass
// as Before for the next page (0 at the end).
func (c *Client) Events(ctx context.Context, q EventQuery) ([]Event, int64, error) {
	var answer struct {
		Events     []Event `json:"events"`
		NextBefore int64   `json:"next_before"`
	}
	err := c.Do(ctx, http.MethodGet, withQuery("/api/v1/events", q.values()), nil, &answer)
	return answer.Events, answer.NextBefore, err
}

// EventsCSV reads a page of the event log as the server's CSV file.
func (c *Client) EventsCSV(ctx context.Context, q EventQuery) ([]byte, error) {
	values := q.values()
	values.Set("format", "csv")
	resp, err := c.Raw(ctx, http.MethodGet, withQuery("/api/v1/events", values), nil, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return nil, readError(resp)
	}
	var out bytes.Buffer
	if _, err := io.Copy(&out, resp.Body); err != nil {
		return nil, fmt.Errorf("read events CSV: %w", err)
	}
	return out.Bytes(), nil
}

// The dashboard's numbers are the server's own types.
type (
	// Stats are the dashboard's live counters and the bandwidth of the
	// last hour.
	Stats = api.Stats
	// Bandwidth is the media traffic of one minute, in bits per second.
	Bandwidth = api.Bandwidth
)

// Stats reads the dashboard's numbers.
func (c *Client) Stats(ctx context.Context) (Stats, error) {
	var s Stats
	err := c.Do(ctx, http.MethodGet, "/api/v1/stats", nil, &s)
	return s, err
}

// Conference kinds, access levels and modes: the server's own values.
const (
	KindRoom      = conference.KindRoom
	KindScheduled = conference.KindScheduled
	KindInstant   = conference.KindInstant

	AccessPublic   = conference.AccessPublic
	AccessInternal = conference.AccessInternal

	ModeMeeting = conference.ModeMeeting
	ModeWebinar = conference.ModeWebinar
)

// The plain data types of conferences are the server's own.
type (
	// ConferencePerson names the owner of a conference.
	ConferencePerson = conference.Person
	// Invitee is a user invited to a conference and the role they get there.
	Invitee = conference.Invitee
	// Schedule is when a scheduled conference takes place; Weekdays
	// (mon..sun) repeat it weekly.
	Schedule = conference.ScheduleSpec
)

// Conference is a conference's definition and live state.
type Conference struct {
	CID             string           `json:"cid"`
	Name            string           `json:"name"`
	Owner           ConferencePerson `json:"owner"`
	Kind            string           `json:"kind"`
	Access          string           `json:"access"`
	Mode            string           `json:"mode"`
	Lobby           string           `json:"lobby"`
	PIN             string           `json:"pin,omitempty"` // for those who may change it
	HasPIN          bool             `json:"has_pin"`
	MaxParticipants int              `json:"max_participants"`
	Schedule        *Schedule        `json:"schedule,omitempty"`
	Invitees        []Invitee        `json:"invitees"`
	Link            string           `json:"link"`
	State           string           `json:"state"` // open, not_started, ended
	OpensAt         *time.Time       `json:"opens_at,omitempty"`
	Running         bool             `json:"running"`
	Participants    int              `json:"participants"`
	CreatedAt       time.Time        `json:"created_at"`
	UpdatedAt       time.Time        `json:"updated_at"`
	// RelayOnly is the conference's own choice to send all media through
	// TURN; the server's relay_only setting may force it as well.
	RelayOnly bool `json:"relay_only"`
}

// ConferenceSpec is what creating a conference takes; empty fields get the
// server's defaults.
type ConferenceSpec struct {
	CID             string    `json:"cid,omitempty"`
	Name            string    `json:"name,omitempty"`
	Kind            string    `json:"kind,omitempty"`
	Access          string    `json:"access,omitempty"`
	Mode            string    `json:"mode,omitempty"`
	PIN             string    `json:"pin,omitempty"` // "auto" or 4 to 10 digits
	Lobby           string    `json:"lobby,omitempty"`
	MaxParticipants int       `json:"max_participants,omitempty"`
	Schedule        *Schedule `json:"schedule,omitempty"`
	Invitees        []Invitee `json:"invitees,omitempty"`
	RelayOnly       bool      `json:"relay_only,omitempty"` // all media through TURN
}

// ConferencePatch changes a conference; nil fields stay. The ID and kind
// never change.
type ConferencePatch struct {
	Name            *string    `json:"name,omitempty"`
	Access          *string    `json:"access,omitempty"`
	Mode            *string    `json:"mode,omitempty"`
	PIN             *string    `json:"pin,omitempty"` // "" removes it
	Lobby           *string    `json:"lobby,omitempty"`
	MaxParticipants *int       `json:"max_participants,omitempty"`
	Schedule        *Schedule  `json:"schedule,omitempty"`
	Invitees        *[]Invitee `json:"invitees,omitempty"`
	RelayOnly       *bool      `json:"relay_only,omitempty"`
}

// Conferences lists conferences: scope "mine" (owned or invited) or "all"
// (administrators).
func (c *Client) Conferences(ctx context.Context, scope string) ([]Conference, error) {
	var answer struct {
		Conferences []Conference `json:"conferences"`
	}
	err := c.Do(ctx, http.MethodGet, withQuery("/api/v1/conferences", url.Values{"scope": {scope}}), nil, &answer)
	return answer.Conferences, err
}

// Conference reads one conference.
func (c *Client) Conference(ctx context.Context, cid string) (Conference, error) {
	var conf Conference
	err := c.Do(ctx, http.MethodGet, conferencePath(cid, ""), nil, &conf)
	return conf, err
}

// CreateConference creates a conference.
func (c *Client) CreateConference(ctx context.Context, spec ConferenceSpec) (Conference, error) {
	var conf Conference
	err := c.Do(ctx, http.MethodPost, "/api/v1/conferences", spec, &conf)
	return conf, err
}

// UpdateConference changes a conference; a running one takes the change at
// once.
func (c *Client) UpdateConference(ctx context.Context, cid string, patch ConferencePatch) (Conference, error) {
	var conf Conference
	err := c.Do(ctx, http.MethodPatch, conferencePath(cid, ""), patch, &conf)
	return conf, err
}

// DeleteConference deletes a conference, ending it if it runs.
func (c *Client) DeleteConference(ctx context.Context, cid string) error {
	return c.Do(ctx, http.MethodDelete, conferencePath(cid, ""), nil, nil)
}

// EndConference ends a running conference for everyone.
func (c *Client) EndConference(ctx context.Context, cid string) error {
	return c.Do(ctx, http.MethodPost, conferencePath(cid, "/end"), nil, nil)
}

// JoinInfo is what anyone may learn about a conference before joining.
type JoinInfo = conference.JoinInfo

// JoinInfo reads what the join screen needs; it needs no session.
func (c *Client) JoinInfo(ctx context.Context, cid string) (JoinInfo, error) {
	var info JoinInfo
	err := c.Do(ctx, http.MethodGet, conferencePath(cid, "/join-info"), nil, &info)
	return info, err
}

func conferencePath(cid, action string) string {
	return "/api/v1/conferences/" + url.PathEscape(cid) + action
}

// Presence of a colleague for calls.
const (
	PresenceAvailable = "available"
	PresenceBusy      = "busy"
	PresenceOffline   = "offline"
)

// DirectoryEntry is a colleague to call or invite.
type DirectoryEntry struct {
	ID          int64  `json:"id"`
	Login       string `json:"login"`
	DisplayName string `json:"display_name"`
	Presence    string `json:"presence"`
}

// Directory lists enabled colleagues (not the caller) matching q.
func (c *Client) Directory(ctx context.Context, q string) ([]DirectoryEntry, error) {
	values := url.Values{}
	setNonEmpty(values, "q", q)
	var answer struct {
		Users []DirectoryEntry `json:"users"`
	}
	err := c.Do(ctx, http.MethodGet, withQuery("/api/v1/directory", values), nil, &answer)
	return answer.Users, err
}

func setNonEmpty(values url.Values, key, value string) {
	if value != "" {
		values.Set(key, value)
	}
}

func setPositive(values url.Values, key string, value int64) {
	if value > 0 {
		values.Set(key, strconv.FormatInt(value, 10))
	}
}

func withQuery(path string, values url.Values) string {
	if len(values) == 0 {
		return path
	}
	return path + "?" + values.Encode()
}
