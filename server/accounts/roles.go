package accounts

// Role is what a user may do on the server as a whole.
type Role string

const (
	Owner         Role = "owner"          // created at setup; full rights; cannot be removed
	Admin         Role = "admin"          // administers users, groups and settings
	SecurityAdmin Role = "security_admin" // reads everything an admin sees, changes nothing
	Member        Role = "user"           // takes part in and organises conferences
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	switch r {
	case Owner, Admin, SecurityAdmin, Member:
		return true
	}
	return false
}

// CanAdminister reports whether r may change users, groups and settings.
func (r Role) CanAdminister() bool { return r == Owner || r == Admin }

// CanAudit reports whether r may read the admin views and the event log.
func (r Role) CanAudit() bool { return r.CanAdminister() || r == SecurityAdmin }
