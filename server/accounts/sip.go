package accounts

import (
	"context"
	"crypto/md5" //nolint:gosec // SIP digest authentication (RFC 3261 22.4) is MD5
	"database/sql"
	"encoding/hex"
	"fmt"

	"github.com/parleyhq/parley/server/eventlog"
	"github.com/parleyhq/parley/server/problem"
	"github.com/parleyhq/parley/server/store"
)

// SIPRealm is the realm of SIP digest authentication: a phone registers
// as login@SIPRealm with the user's SIP password.
const SIPRealm = "parley"

// SIPDigestHash is HA1 of RFC 2617: what a SIP password is kept as.
func SIPDigestHash(login, password string) string {
	sum := md5.Sum([]byte(login + ":" + SIPRealm + ":" + password)) //nolint:gosec // required by SIP digest
	return hex.EncodeToString(sum[:])
}

// SetSIPPassword sets (or with "" removes) the password SIP phones use to
// register as the user. It is separate from the sign-in password: it sits
// in a phone's settings, and digest authentication keeps only an MD5 hash
// of it. Users set their own; administrators anyone's but the owner's.
func (s *Service) SetSIPPassword(ctx context.Context, actor eventlog.Actor, id int64, password string) error {
	target, err := s.User(ctx, id)
	if err != nil {
		return err
	}
	self := actor.UserID == id
	if !self && target.Role == Owner && actor != eventlog.Host {
		return problem.New(problem.Forbidden, "only the owner may change the owner's SIP password")
	}
	ha1 := ""
	if password != "" {
		if err := CheckPassword(s.settings().PasswordPolicy, password, target.Login); err != nil {
			return err
		}
		ha1 = SIPDigestHash(target.Login, password)
	}
	return s.db.Write(ctx, func(tx *sql.Tx) error {
		if !self {
			if err := s.requireAdministrator(ctx, tx, actor); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET sip_ha1 = ?, updated_at = ? WHERE id = ?`, ha1, store.NowMillis(), id); err != nil {
			return fmt.Errorf("set SIP password of user %d: %w", id, err)
		}
		return eventlog.Append(ctx, tx, eventlog.Entry{Kind: eventlog.UserSIPPasswordChanged, Actor: actor, SubjectUserID: id,
			Details: map[string]any{"by_self": self, "removed": password == ""}})
	})
}

// SIPCredentials returns the enabled user with this login and the hash of
// their SIP password, for digest authentication; NotFound when there is
// no such user, they are disabled, or they have no SIP password.
func (s *Service) SIPCredentials(ctx context.Context, login string) (User, string, error) {
	var ha1 string
	err := s.db.SQL().QueryRowContext(ctx, `SELECT sip_ha1 FROM users WHERE login = ? AND enabled = 1`, login).Scan(&ha1)
	if err == sql.ErrNoRows || err == nil && ha1 == "" {
		return User{}, "", problem.New(problem.NotFound, "no SIP account %s", login)
	}
	if err != nil {
		return User{}, "", fmt.Errorf("SIP credentials of %s: %w", login, err)
	}
	user, err := s.UserByLogin(ctx, login)
	return user, ha1, err
}
