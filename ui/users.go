package ui

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/data/binding"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/parleyhq/parley/server/client"
)

// UsersModel is the list of accounts with search, and the changes an
// administrator makes to them.
type UsersModel struct {
	client *client.Client
	Query  binding.String
	Users  binding.List[client.User]

	mu     sync.Mutex
	groups []client.Group
}

func newUsersModel(c *client.Client) *UsersModel {
	return &UsersModel{client: c, Query: binding.NewString(),
		Users: binding.NewList(func(a, b client.User) bool { return false })}
}

// Load reads the users matching the query, and the groups.
func (m *UsersModel) Load(ctx context.Context) error {
	q, _ := m.Query.Get()
	users, err := m.client.Users(ctx, client.UserQuery{Query: strings.TrimSpace(q), Limit: 1000})
	if err != nil {
		return err
	}
	groups, err := m.client.Groups(ctx)
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.groups = slices.DeleteFunc(groups, func(g client.Group) bool { return g.Builtin != "" })
	m.mu.Unlock()
	return m.Users.Set(users)
}

// Groups are the groups users can be put in (not the built-in ones).
func (m *UsersModel) Groups() []client.Group {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.groups
}

// Add creates an account and shows it in the list.
func (m *UsersModel) Add(ctx context.Context, u client.NewUser) (client.User, error) {
	if u.Password == "" {
		return client.User{}, fieldError("password", "Give the new account a first password.")
	}
	user, err := m.client.CreateUser(ctx, u)
	if err != nil {
		return client.User{}, err
	}
	return user, m.Load(ctx)
}

// Save changes an account and updates it in the list.
func (m *UsersModel) Save(ctx context.Context, id int64, patch client.UserPatch) (client.User, error) {
	user, err := m.client.UpdateUser(ctx, id, patch)
	if err != nil {
		return client.User{}, err
	}
	m.replace(user)
	return user, nil
}

// SetEnabled disables an account (ending its sessions) or enables it.
func (m *UsersModel) SetEnabled(ctx context.Context, id int64, enabled bool) (client.User, error) {
	return m.Save(ctx, id, client.UserPatch{Enabled: &enabled})
}

// ResetPassword sets another user's password; their sessions end.
func (m *UsersModel) ResetPassword(ctx context.Context, id int64, password string) error {
	return m.client.ResetPassword(ctx, id, password)
}

// SetSIPPassword sets (or with "" removes) a user's SIP password.
func (m *UsersModel) SetSIPPassword(ctx context.Context, id int64, password string) error {
	if err := m.client.SetSIPPassword(ctx, id, password); err != nil {
		return err
	}
	return m.reload(ctx, id)
}

// Unlock lifts a lockout after failed sign-ins.
func (m *UsersModel) Unlock(ctx context.Context, id int64) error {
	if err := m.client.UnlockUser(ctx, id); err != nil {
		return err
	}
	return m.reload(ctx, id)
}

// SignOutEverywhere ends every session of a user.
func (m *UsersModel) SignOutEverywhere(ctx context.Context, id int64) error {
	return m.client.SignOutUser(ctx, id)
}

func (m *UsersModel) reload(ctx context.Context, id int64) error {
	users, err := m.client.Users(ctx, client.UserQuery{Limit: 1000})
	if err != nil {
		return err
	}
	for _, u := range users {
		if u.ID == id {
			m.replace(u)
		}
	}
	return nil
}

// replace shows a changed user in the list. (The whole list is set:
// setting one item races in Fyne's list binding.)
func (m *UsersModel) replace(user client.User) {
	users, _ := m.Users.Get()
	users = slices.Clone(users)
	for i := range users {
		if users[i].ID == user.ID {
			users[i] = user
		}
	}
	_ = m.Users.Set(users)
}

// userStatus says whether an account can sign in.
func userStatus(u client.User) string {
	switch {
	case !u.Enabled:
		return "disabled"
	case u.LockedUntil != nil && u.LockedUntil.After(time.Now()):
		return "locked until " + when(*u.LockedUntil)
	}
	return ""
}

var roles = []client.Role{"user", "admin", "security_admin"}

func roleLabels() []string {
	labels := make([]string, len(roles))
	for i, r := range roles {
		labels[i] = roleName(string(r))
	}
	return labels
}

func roleFromLabel(label string) client.Role {
	for _, r := range append(roles, "owner") {
		if roleName(string(r)) == label {
			return r
		}
	}
	return "user"
}

// usersView is the users tab: search and list on the left, the selected
// account on the right.
type usersView struct {
	s        *shell
	model    *UsersModel
	canEdit  bool
	list     *widget.List
	editor   *fyne.Container
	selected int64
	problem  *widget.Label
	root     fyne.CanvasObject
	search   *widget.Entry
	searchAt *time.Timer
}

func newUsersView(s *shell, session *Session) *usersView {
	m := newUsersModel(session.Client)
	v := &usersView{s: s, model: m, canEdit: session.canAdminister(), editor: container.NewStack(), problem: caption("")}
	v.problem.Importance = widget.DangerImportance
	v.problem.Hide()
	v.search = boundEntry(m.Query)
	v.search.SetPlaceHolder("Search by name, login or email")
	v.search.OnChanged = func(string) { v.searchSoon() }
	add := widget.NewButtonWithIcon("Add user", theme.ContentAddIcon(), v.addDialog)
	add.Importance = widget.HighImportance
	if !v.canEdit {
		add.Disable()
	}
	v.list = pickList(m.Users, func(u client.User) (string, string) {
		detail := u.Login + " · " + roleName(string(u.Role))
		if status := userStatus(u); status != "" {
			detail += " · " + status
		}
		return u.DisplayName, detail
	}, func(u client.User) {
		v.selected = u.ID
		v.edit(u)
	})
	m.Users.AddListener(binding.NewDataListener(func() {
		v.list.Refresh()
		v.refreshEditor()
	}))
	v.editor.Add(container.NewCenter(caption("Choose someone in the list.")))
	left := container.NewBorder(container.NewVBox(container.NewBorder(nil, nil, nil, add, v.search), v.problem), nil, nil, nil, v.list)
	split := container.NewHSplit(left, container.NewVScroll(container.NewPadded(v.editor)))
	split.Offset = 0.38
	v.root = split
	return v
}

func (v *usersView) content() fyne.CanvasObject { return v.root }

func (v *usersView) shown(context.Context) { v.load() }

func (v *usersView) load() {
	v.s.background(v.model.Load, v.showProblem)
}

// searchSoon searches once typing pauses.
func (v *usersView) searchSoon() {
	if v.searchAt != nil {
		v.searchAt.Stop()
	}
	v.searchAt = time.AfterFunc(300*time.Millisecond, func() { fyne.Do(v.load) })
}

func (v *usersView) showProblem(err error) {
	if err == nil {
		v.problem.Hide()
		return
	}
	v.problem.SetText(message(err))
	v.problem.Show()
}

// refreshEditor shows the selected user's latest state after a reload.
func (v *usersView) refreshEditor() {
	users, _ := v.model.Users.Get()
	for _, u := range users {
		if u.ID == v.selected {
			v.edit(u)
			return
		}
	}
}

// edit shows one account's details and actions.
func (v *usersView) edit(u client.User) {
	fields := newFieldSet()
	name := widget.NewEntry()
	name.SetText(u.DisplayName)
	email := widget.NewEntry()
	email.SetText(u.Email)
	role := widget.NewSelect(roleLabels(), nil)
	role.SetSelected(roleName(string(u.Role)))
	enabled := widget.NewCheck("May sign in", nil)
	enabled.SetChecked(u.Enabled)
	var groupNames []string
	var chosen []string
	allGroups := v.model.Groups()
	for _, g := range allGroups {
		groupNames = append(groupNames, g.Name)
		if slices.Contains(u.Groups, g.ID) {
			chosen = append(chosen, g.Name)
		}
	}
	groups := widget.NewCheckGroup(groupNames, nil)
	groups.SetSelected(chosen)
	fields.add("display_name", "Name", name, "")
	fields.add("email", "Email", email, "")
	if u.Role == "owner" {
		fields.add("role", "Role", widget.NewLabel("owner"), "The owner keeps every right; the role cannot change.")
	} else {
		fields.add("role", "Role", role, "Administrators manage accounts and settings; security administrators only read them.")
	}
	fields.add("enabled", "Account", enabled, "A disabled account cannot sign in; its sessions end.")
	if len(groupNames) > 0 {
		fields.add("groups", "Groups", groups, "Groups give rights, such as creating meetings.")
	} else {
		fields.add("groups", "Groups", caption("No groups yet: create them in Groups."), "")
	}

	save := widget.NewButtonWithIcon("Save changes", theme.DocumentSaveIcon(), func() {
		patch := client.UserPatch{DisplayName: &name.Text, Email: &email.Text, Enabled: &enabled.Checked}
		if u.Role != "owner" {
			r := roleFromLabel(role.Selected)
			patch.Role = &r
			ids := groupIDs(allGroups, groups.Selected)
			patch.Groups = &ids
		}
		v.s.background(func(ctx context.Context) error {
			_, err := v.model.Save(ctx, u.ID, patch)
			return err
		}, fields.show)
	})
	save.Importance = widget.HighImportance
	reset := widget.NewButtonWithIcon("Reset password…", theme.ViewRefreshIcon(), func() { v.resetDialog(u) })
	sipPassword := widget.NewButtonWithIcon("SIP password…", theme.ComputerIcon(), func() { v.sipPasswordDialog(u) })
	unlock := widget.NewButtonWithIcon("Unlock", theme.VisibilityIcon(), func() {
		v.s.background(func(ctx context.Context) error { return v.model.Unlock(ctx, u.ID) }, fields.show)
	})
	if u.LockedUntil == nil || u.LockedUntil.Before(time.Now()) {
		unlock.Disable()
	}
	signOut := widget.NewButtonWithIcon("Sign out everywhere", theme.LogoutIcon(), func() {
		dialog.ShowConfirm("Sign "+u.DisplayName+" out everywhere?",
			"Every session of this account ends: in browsers, in the app, and in meetings' connections.", func(ok bool) {
				if ok {
					v.s.background(func(ctx context.Context) error { return v.model.SignOutEverywhere(ctx, u.ID) }, fields.show)
				}
			}, v.s.win)
	})
	if !v.canEdit {
		for _, b := range []*widget.Button{save, reset, sipPassword, unlock, signOut} {
			b.Disable()
		}
	}
	about := fmt.Sprintf("Login %s · account since %s", u.Login, u.CreatedAt.Local().Format("2 Jan 2006"))
	if u.HasSIPPassword {
		about += " · SIP phone password set"
	}
	head := container.NewVBox(pageTitle(u.DisplayName), caption(about))
	if status := userStatus(u); status != "" {
		note := widget.NewLabel("This account is " + status + ".")
		note.Importance = widget.WarningImportance
		head.Add(note)
	}
	actions := container.NewHBox(reset, sipPassword, unlock, signOut, layout.NewSpacer(), save)
	v.editor.Objects = []fyne.CanvasObject{container.NewVBox(head, fields.content(), actions)}
	v.editor.Refresh()
}

func groupIDs(groups []client.Group, names []string) []int64 {
	ids := []int64{}
	for _, g := range groups {
		if slices.Contains(names, g.Name) {
			ids = append(ids, g.ID)
		}
	}
	return ids
}

// addDialog asks for a new account's details.
func (v *usersView) addDialog() {
	fields := newFieldSet()
	login := widget.NewEntry()
	name := widget.NewEntry()
	email := widget.NewEntry()
	email.SetPlaceHolder("optional")
	role := widget.NewSelect(roleLabels(), nil)
	role.SetSelected(roleName("user"))
	password := widget.NewPasswordEntry()
	fields.add("login", "Login", login, "a-z, 0-9, '.', '_' and '-'; it never changes.")
	fields.add("display_name", "Name", name, "")
	fields.add("email", "Email", email, "")
	fields.add("role", "Role", role, "")
	fields.add("password", "First password", password, "Tell it to the person; they can change it after signing in.")
	v.s.formDialog("Add a user", "Add user", fields.content(), fields, fyne.NewSize(600, 480), func() func(context.Context) error {
		u := client.NewUser{Login: strings.TrimSpace(login.Text), DisplayName: strings.TrimSpace(name.Text),
			Email: strings.TrimSpace(email.Text), Role: roleFromLabel(role.Selected), Password: password.Text}
		return func(ctx context.Context) error {
			_, err := v.model.Add(ctx, u)
			return err
		}
	})
	v.s.win.Canvas().Focus(login)
}

// sipPasswordDialog sets the password a user's SIP phone registers with
// (docs/sip.md), or removes it.
func (v *usersView) sipPasswordDialog(u client.User) {
	fields := newFieldSet()
	password := widget.NewPasswordEntry()
	hint := "Their desk phone or softphone registers as " + u.Login + " with it. Empty removes it."
	if u.HasSIPPassword {
		hint = "Replaces the one their phone uses now (" + u.Login + "). Empty removes it."
	}
	fields.add("password", "SIP password", password, hint)
	v.s.formDialog("SIP password for "+u.DisplayName, "Set", fields.content(), fields, fyne.NewSize(520, 240), func() func(context.Context) error {
		newPassword := password.Text
		return func(ctx context.Context) error { return v.model.SetSIPPassword(ctx, u.ID, newPassword) }
	})
}

// resetDialog sets a new password for someone else.
func (v *usersView) resetDialog(u client.User) {
	fields := newFieldSet()
	password := widget.NewPasswordEntry()
	fields.add("password", "New password", password, "Their sessions end; tell them the new password.")
	v.s.formDialog("New password for "+u.DisplayName, "Set password", fields.content(), fields, fyne.NewSize(520, 240), func() func(context.Context) error {
		newPassword := password.Text
		return func(ctx context.Context) error { return v.model.ResetPassword(ctx, u.ID, newPassword) }
	})
}
