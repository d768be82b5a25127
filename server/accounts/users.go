package accounts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/parleyhq/parley/server/problem"
	"slices"
	"strings"

	"github.com/parleyhq/parley/server/eventlog"
	"github.com/parleyhq/parley/server/store"
)

// NewUser is what creating an account takes.
type NewUser struct {
	Login       string  `json:"login"`
	DisplayName string  `json:"display_name"`
	Email       string  `json:"email"`
	Password    string  `json:"password"`
	Role        Role    `json:"role"`
	Groups      []int64 `json:"groups"`
}

func (s *Service) checkNewUser(u *NewUser) error {
	if u.DisplayName == "" {
		u.DisplayName = u.Login
	}
	if u.Role == "" {
		u.Role = Member
	}
	if err := checkLogin(u.Login); err != nil {
		return err
	}
	if err := checkDisplayName(u.DisplayName); err != nil {
		return err
	}
	if err := checkEmail(u.Email); err != nil {
		return err
	}
	if !u.Role.Valid() {
		return problem.Field("role", "role must be one of owner, admin, security_admin, user")
	}
	return CheckPassword(s.settings().PasswordPolicy, u.Password, u.Login)
}

// Create adds an account. Only the host command line may create the owner,
// and only while there is none; everyone else comes from an administrator.
func (s *Service) Create(ctx context.Context, actor eventlog.Actor, u NewUser) (User, error) {
	if err := s.checkNewUser(&u); err != nil {
		return User{}, err
	}
	hash, err := s.hasher.Hash(u.Password)
	if err != nil {
		return User{}, err
	}
	var id int64
	err = s.db.Write(ctx, func(tx *sql.Tx) error {
		if err := s.requireAdministrator(ctx, tx, actor); err != nil {
			return err
		}
		if u.Role == Owner {
			if actor != eventlog.Host {
				return problem.New(problem.Forbidden, "the owner is created at setup; choose another role")
			}
			if exists, err := ownerExists(ctx, tx); err != nil || exists {
				return errors.Join(err, problem.New(problem.Conflict, "this server already has an owner"))
			}
		}
		if id, err = insertUser(ctx, tx, u, hash); err != nil {
			return err
		}
		if err := setGroups(ctx, tx, id, u.Groups); err != nil {
			return err
		}
		return eventlog.Append(ctx, tx, eventlog.Entry{Kind: eventlog.UserCreated, Actor: actor, SubjectUserID: id,
			Details: map[string]any{"login": u.Login, "role": u.Role, "groups": u.Groups}})
	})
	if err != nil {
		return User{}, err
	}
	return s.User(ctx, id)
}

func insertUser(ctx context.Context, tx *sql.Tx, u NewUser, hash string) (int64, error) {
	now := store.NowMillis()
	res, err := tx.ExecContext(ctx,
		`INSERT INTO users (login, display_name, email, password_hash, role, enabled, created_at, updated_at)
		 VALUES (?, ?, ?, ?, ?, 1, ?, ?) ON CONFLICT (login) DO NOTHING`,
		u.Login, u.DisplayName, u.Email, hash, u.Role, now, now)
	if err != nil {
		return 0, fmt.Errorf("create user %s: %w", u.Login, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return 0, &problem.Error{Kind: problem.Conflict, Field: "login", Message: fmt.Sprintf("the login %q is taken", u.Login)}
	}
	return res.LastInsertId()
}

func ownerExists(ctx context.Context, q querier) (bool, error) {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE role = 'owner'`).Scan(&n); err != nil {
		return false, fmt.Errorf("look for the owner: %w", err)
	}
	return n > 0, nil
}

// OwnerExists reports whether setup has been done.
func (s *Service) OwnerExists(ctx context.Context) (bool, error) {
	return ownerExists(ctx, s.db.SQL())
}

// setGroups replaces a user's memberships. Built-in groups cannot be
// joined: their members follow from having no group or being a guest.
func setGroups(ctx context.Context, tx *sql.Tx, userID int64, groups []int64) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM group_members WHERE user_id = ?`, userID); err != nil {
		return fmt.Errorf("set groups: %w", err)
	}
	for _, groupID := range groups {
		var builtin string
		err := tx.QueryRowContext(ctx, `SELECT builtin FROM access_groups WHERE id = ?`, groupID).Scan(&builtin)
		if errors.Is(err, sql.ErrNoRows) {
			return problem.Field("groups", "there is no group %d", groupID)
		}
		if err != nil {
			return fmt.Errorf("set groups: %w", err)
		}
		if builtin != "" {
			return problem.Field("groups", "group %d is built in; its members are chosen automatically", groupID)
		}
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO group_members (group_id, user_id) VALUES (?, ?)`, groupID, userID); err != nil {
			return fmt.Errorf("set groups: %w", err)
		}
	}
	return nil
}

// requireAdministrator checks that actor may change accounts: the host, or
// an enabled owner or admin.
func (s *Service) requireAdministrator(ctx context.Context, q querier, actor eventlog.Actor) error {
	if actor.UserID == 0 {
		if actor.Name == eventlog.Host.Name {
			return nil
		}
		return problem.New(problem.Forbidden, "only an administrator may do this")
	}
	acting, err := s.loadUser(ctx, q, "id = ?", actor.UserID)
	if err != nil {
		return err
	}
	if !acting.Enabled || !acting.Role.CanAdminister() {
		return problem.New(problem.Forbidden, "only an administrator may do this")
	}
	return nil
}

// UserPatch changes some fields of an account; nil fields stay as they are.
// Login is here only to refuse it with a clear message: logins never change.
type UserPatch struct {
	Login       *string  `json:"login,omitempty"`
	DisplayName *string  `json:"display_name,omitempty"`
	Email       *string  `json:"email,omitempty"`
	Role        *Role    `json:"role,omitempty"`
	Enabled     *bool    `json:"enabled,omitempty"`
	Groups      *[]int64 `json:"groups,omitempty"`
}

// Update changes an account. Disabling it ends all its sessions.
func (s *Service) Update(ctx context.Context, actor eventlog.Actor, id int64, p UserPatch) (User, error) {
	if p.Login != nil {
		return User{}, problem.Field("login", "a login cannot be changed; create a new account instead")
	}
	err := s.db.Write(ctx, func(tx *sql.Tx) error {
		self := actor.UserID == id
		before, err := s.loadUser(ctx, tx, "id = ?", id)
		if err != nil {
			return err
		}
		onlyProfile := p.Role == nil && p.Enabled == nil && p.Groups == nil
		if !(self && onlyProfile) {
			if err := s.requireAdministrator(ctx, tx, actor); err != nil {
				return err
			}
		}
		if err := s.checkUserPatch(before, actor, p); err != nil {
			return err
		}
		after := before
		changes := map[string][2]any{}
		if p.DisplayName != nil && *p.DisplayName != before.DisplayName {
			after.DisplayName = *p.DisplayName
			changes["display_name"] = [2]any{before.DisplayName, after.DisplayName}
		}
		if p.Email != nil && *p.Email != before.Email {
			after.Email = *p.Email
			changes["email"] = [2]any{before.Email, after.Email}
		}
		if p.Role != nil && *p.Role != before.Role {
			after.Role = *p.Role
			changes["role"] = [2]any{before.Role, after.Role}
		}
		if p.Enabled != nil && *p.Enabled != before.Enabled {
			after.Enabled = *p.Enabled
			changes["enabled"] = [2]any{before.Enabled, after.Enabled}
		}
		if p.Groups != nil {
			wanted := slices.Clone(*p.Groups)
			slices.Sort(wanted)
			wanted = slices.Compact(wanted)
			if !slices.Equal(wanted, before.Groups) {
				if err := setGroups(ctx, tx, id, wanted); err != nil {
					return err
				}
				changes["groups"] = [2]any{before.Groups, wanted}
			}
		}
		if len(changes) == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx,
			`UPDATE users SET display_name = ?, email = ?, role = ?, enabled = ?, updated_at = ? WHERE id = ?`,
			after.DisplayName, after.Email, after.Role, after.Enabled, store.NowMillis(), id); err != nil {
			return fmt.Errorf("update user %d: %w", id, err)
		}
		if !after.Enabled && before.Enabled {
			if err := revokeAll(ctx, tx, id, 0); err != nil {
				return err
			}
		}
		beforeValues, afterValues := map[string]any{}, map[string]any{}
		for field, change := range changes {
			beforeValues[field], afterValues[field] = change[0], change[1]
		}
		return eventlog.Append(ctx, tx, eventlog.Entry{Kind: eventlog.UserUpdated, Actor: actor, SubjectUserID: id,
			Details: map[string]any{"before": beforeValues, "after": afterValues}})
	})
	if err != nil {
		return User{}, err
	}
	return s.User(ctx, id)
}

func (s *Service) checkUserPatch(target User, actor eventlog.Actor, p UserPatch) error {
	if p.DisplayName != nil {
		if err := checkDisplayName(*p.DisplayName); err != nil {
			return err
		}
	}
	if p.Email != nil {
		if err := checkEmail(*p.Email); err != nil {
			return err
		}
	}
	if p.Role != nil && !p.Role.Valid() {
		return problem.Field("role", "role must be one of admin, security_admin, user")
	}
	if target.Role == Owner {
		if (p.Role != nil && *p.Role != Owner) || (p.Enabled != nil && !*p.Enabled) {
			return problem.New(problem.Forbidden, "the owner cannot be demoted or disabled")
		}
		if actor.UserID != target.ID && actor != eventlog.Host && (p.DisplayName != nil || p.Email != nil) {
			return problem.New(problem.Forbidden, "only the owner may change the owner's profile")
		}
	}
	if p.Role != nil && *p.Role == Owner && target.Role != Owner {
		return problem.New(problem.Forbidden, "there is one owner, created at setup")
	}
	if actor.UserID == target.ID && ((p.Enabled != nil && !*p.Enabled) || (p.Role != nil && *p.Role != target.Role)) {
		return problem.New(problem.Forbidden, "you cannot disable your own account or change your own role; ask another administrator")
	}
	return nil
}

// SetPassword sets a new password for user id. An administrator resetting
// someone's password ends all their sessions; a user changing their own
// must give the current one, and keeps only the session keepSession.
func (s *Service) SetPassword(ctx context.Context, actor eventlog.Actor, id int64, current, password string, keepSession int64) error {
	target, err := s.User(ctx, id)
	if err != nil {
		return err
	}
	self := actor.UserID == id
	if self {
		var hash string
		if err := s.db.SQL().QueryRowContext(ctx, `SELECT password_hash FROM users WHERE id = ?`, id).Scan(&hash); err != nil {
			return fmt.Errorf("load password: %w", err)
		}
		if target.HasPassword {
			ok, err := s.hasher.Verify(hash, current)
			if err != nil {
				return fmt.Errorf("verify password of user %d: %w", id, err)
			}
			if !ok {
				return &problem.Error{Kind: problem.Invalid, Field: "current_password", Message: "the current password is wrong"}
			}
		}
	} else {
		keepSession = 0
		if target.Role == Owner && actor != eventlog.Host {
			return problem.New(problem.Forbidden, "only the owner may change the owner's password")
		}
	}
	if err := CheckPassword(s.settings().PasswordPolicy, password, target.Login); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(password)
	if err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *sql.Tx) error {
		if !self {
			if err := s.requireAdministrator(ctx, tx, actor); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?`,
			hash, store.NowMillis(), id); err != nil {
			return fmt.Errorf("set password of user %d: %w", id, err)
		}
		if err := revokeAll(ctx, tx, id, keepSession); err != nil {
			return err
		}
		return eventlog.Append(ctx, tx, eventlog.Entry{Kind: eventlog.UserPasswordChanged, Actor: actor, SubjectUserID: id,
			Details: map[string]any{"by_self": self}})
	})
}

// Unlock clears a lockout and the failures that led to it.
func (s *Service) Unlock(ctx context.Context, actor eventlog.Actor, id int64) error {
	return s.db.Write(ctx, func(tx *sql.Tx) error {
		if err := s.requireAdministrator(ctx, tx, actor); err != nil {
			return err
		}
		target, err := s.loadUser(ctx, tx, "id = ?", id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET locked_until = 0 WHERE id = ?`, id); err != nil {
			return fmt.Errorf("unlock user %d: %w", id, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM login_failures WHERE user_id = ?`, id); err != nil {
			return fmt.Errorf("unlock user %d: %w", id, err)
		}
		return eventlog.Append(ctx, tx, eventlog.Entry{Kind: eventlog.UserUnlocked, Actor: actor, SubjectUserID: id,
			Details: map[string]any{"was_locked": target.LockedUntil != nil}})
	})
}

// RevokeSessions signs a user out everywhere ("disconnect").
func (s *Service) RevokeSessions(ctx context.Context, actor eventlog.Actor, id int64) error {
	return s.db.Write(ctx, func(tx *sql.Tx) error {
		if err := s.requireAdministrator(ctx, tx, actor); err != nil {
			return err
		}
		if _, err := s.loadUser(ctx, tx, "id = ?", id); err != nil {
			return err
		}
		if err := revokeAll(ctx, tx, id, 0); err != nil {
			return err
		}
		return eventlog.Append(ctx, tx, eventlog.Entry{Kind: eventlog.UserSessionsRevoked, Actor: actor, SubjectUserID: id})
	})
}

// normalizeLogin trims and lower-cases what a person typed as a login, so
// that "Anna " signs in as "anna".
func normalizeLogin(login string) string { return strings.ToLower(strings.TrimSpace(login)) }
