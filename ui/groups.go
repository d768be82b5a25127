package ui

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/data/binding"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/parleyhq/parley/server/client"
)

// GroupsModel is the groups with their rights.
type GroupsModel struct {
	client *client.Client
	Groups binding.List[client.Group]

	mu     sync.Mutex
	rights []client.Right
}

func newGroupsModel(c *client.Client) *GroupsModel {
	return &GroupsModel{client: c, Groups: binding.NewList(func(a, b client.Group) bool { return false })}
}

// Load reads the groups and the catalogue of rights.
func (m *GroupsModel) Load(ctx context.Context) error {
	rights, err := m.client.Rights(ctx)
	if err != nil {
		return err
	}
	groups, err := m.client.Groups(ctx)
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.rights = rights
	m.mu.Unlock()
	return m.Groups.Set(groups)
}

// Rights are the rights a group can grant, in the order to show them.
func (m *GroupsModel) Rights() []client.Right {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rights
}

// Create adds a group.
func (m *GroupsModel) Create(ctx context.Context, name string, rights []string) (client.Group, error) {
	if strings.TrimSpace(name) == "" {
		return client.Group{}, fieldError("name", "Give the group a name.")
	}
	group, err := m.client.CreateGroup(ctx, strings.TrimSpace(name), rights)
	if err != nil {
		return client.Group{}, err
	}
	return group, m.Load(ctx)
}

// Save renames a group (not a built-in one) and sets its rights.
func (m *GroupsModel) Save(ctx context.Context, g client.Group, name string, rights []string) (client.Group, error) {
	patch := client.GroupPatch{Rights: &rights}
	if g.Builtin == "" && name != g.Name {
		patch.Name = &name
	}
	group, err := m.client.UpdateGroup(ctx, g.ID, patch)
	if err != nil {
		return client.Group{}, err
	}
	return group, m.Load(ctx)
}

// Delete deletes a group; members keep their accounts.
func (m *GroupsModel) Delete(ctx context.Context, id int64) error {
	if err := m.client.DeleteGroup(ctx, id); err != nil {
		return err
	}
	return m.Load(ctx)
}

// builtinNote says what a built-in group is and why it cannot be renamed
// or deleted.
func builtinNote(g client.Group) string {
	switch g.Builtin {
	case "ungrouped":
		return "Built in: the rights of users who are in no group. It cannot be renamed or deleted, or joined by hand; its rights can change."
	case "guests":
		return "Built in: the rights of people who join by link without an account. It cannot be renamed or deleted, or joined by hand; its rights can change."
	}
	return ""
}

// groupsView is the groups tab.
type groupsView struct {
	s        *shell
	model    *GroupsModel
	canEdit  bool
	list     *widget.List
	editor   *fyne.Container
	selected int64
	problem  *widget.Label
	root     fyne.CanvasObject
}

func newGroupsView(s *shell, session *Session) *groupsView {
	m := newGroupsModel(session.Client)
	v := &groupsView{s: s, model: m, canEdit: session.canAdminister(), editor: container.NewStack(), problem: caption("")}
	v.problem.Importance = widget.DangerImportance
	v.problem.Hide()
	add := widget.NewButtonWithIcon("New group", theme.ContentAddIcon(), v.addDialog)
	add.Importance = widget.HighImportance
	if !v.canEdit {
		add.Disable()
	}
	v.list = pickList(m.Groups, func(g client.Group) (string, string) {
		detail := fmt.Sprintf("%d rights", len(g.Rights))
		if g.Builtin != "" {
			detail += " · built in"
		} else {
			detail += fmt.Sprintf(" · %d members", g.Members)
		}
		return g.Name, detail
	}, func(g client.Group) {
		v.selected = g.ID
		v.edit(g)
	})
	m.Groups.AddListener(binding.NewDataListener(func() {
		v.list.Refresh()
		groups, _ := m.Groups.Get()
		for _, g := range groups {
			if g.ID == v.selected {
				v.edit(g)
				return
			}
		}
		v.showNothing()
	}))
	v.showNothing()
	left := container.NewBorder(container.NewVBox(container.NewHBox(heading("Groups"), layout.NewSpacer(), add), v.problem), nil, nil, nil, v.list)
	split := container.NewHSplit(left, container.NewVScroll(container.NewPadded(v.editor)))
	split.Offset = 0.34
	v.root = split
	return v
}

func (v *groupsView) content() fyne.CanvasObject { return v.root }

func (v *groupsView) shown(context.Context) {
	v.s.background(v.model.Load, func(err error) {
		if err != nil {
			v.problem.SetText(message(err))
			v.problem.Show()
		} else {
			v.problem.Hide()
		}
	})
}

func (v *groupsView) showNothing() {
	v.editor.Objects = []fyne.CanvasObject{container.NewCenter(caption("Choose a group in the list. A user's rights are those of all their groups; administrators have every right."))}
	v.editor.Refresh()
}

// rightsChecks is one check per right, labelled with its description.
func rightsChecks(rights []client.Right, chosen []string) (fyne.CanvasObject, func() []string) {
	box := container.NewVBox()
	checks := map[string]*widget.Check{}
	for _, r := range rights {
		check := widget.NewCheck(r.Description, nil)
		check.SetChecked(slices.Contains(chosen, r.Name))
		checks[r.Name] = check
		box.Add(check)
	}
	return box, func() []string {
		selected := []string{}
		for _, r := range rights {
			if checks[r.Name].Checked {
				selected = append(selected, r.Name)
			}
		}
		return selected
	}
}

func (v *groupsView) edit(g client.Group) {
	fields := newFieldSet()
	name := widget.NewEntry()
	name.SetText(g.Name)
	rightsBox, selected := rightsChecks(v.model.Rights(), g.Rights)
	if g.Builtin != "" {
		name.Disable()
		fields.add("name", "Name", name, builtinNote(g))
	} else {
		fields.add("name", "Name", name, fmt.Sprintf("%d members", g.Members))
	}
	fields.add("rights", "Rights", rightsBox, "")
	save := widget.NewButtonWithIcon("Save changes", theme.DocumentSaveIcon(), func() {
		v.s.background(func(ctx context.Context) error {
			_, err := v.model.Save(ctx, g, strings.TrimSpace(name.Text), selected())
			return err
		}, fields.show)
	})
	save.Importance = widget.HighImportance
	remove := widget.NewButtonWithIcon("Delete group", theme.DeleteIcon(), func() {
		dialog.ShowConfirm("Delete "+g.Name+"?", fmt.Sprintf("Its %d members keep their accounts but lose the rights it gave.", g.Members),
			func(ok bool) {
				if ok {
					v.s.background(func(ctx context.Context) error { return v.model.Delete(ctx, g.ID) }, fields.show)
				}
			}, v.s.win)
	})
	remove.Importance = widget.DangerImportance
	if g.Builtin != "" || !v.canEdit {
		remove.Disable()
	}
	if !v.canEdit {
		save.Disable()
	}
	v.editor.Objects = []fyne.CanvasObject{container.NewVBox(pageTitle(g.Name), fields.content(),
		container.NewHBox(remove, layout.NewSpacer(), save))}
	v.editor.Refresh()
}

func (v *groupsView) addDialog() {
	fields := newFieldSet()
	name := widget.NewEntry()
	rightsBox, selected := rightsChecks(v.model.Rights(), []string{"create_conferences", "call_users", "share_screen"})
	fields.add("name", "Name", name, "")
	fields.add("rights", "Rights", rightsBox, "")
	v.s.formDialog("New group", "Create group", fields.content(), fields, fyne.NewSize(560, 560), func() func(context.Context) error {
		groupName, rights := name.Text, selected()
		return func(ctx context.Context) error {
			_, err := v.model.Create(ctx, groupName, rights)
			return err
		}
	})
	v.s.win.Canvas().Focus(name)
}
