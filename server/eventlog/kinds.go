package eventlog

// Event kinds. docs/api.md lists them; keep the two in step.
const (
	StoreMigrated = "store.migrated"

	SubsystemState = "subsystem.state" // a subsystem started, stopped, failed or restarted

	SetupOwnerCreated = "setup.owner_created"

	SignIn       = "auth.sign_in"
	SignInFailed = "auth.sign_in_failed"
	SignOut      = "auth.sign_out"
	Locked       = "auth.locked" // too many failed sign-ins
	AccessDenied = "auth.access_denied"

	UserCreated         = "user.created"
	UserUpdated         = "user.updated"
	UserPasswordChanged = "user.password_changed"
	UserUnlocked        = "user.unlocked"
	UserSessionsRevoked = "user.sessions_revoked"

	GroupCreated = "group.created"
	GroupUpdated = "group.updated"
	GroupDeleted = "group.deleted"

	SettingsChanged = "settings.changed"

	CertificateUploaded = "tls.uploaded"
	CertificateRejected = "tls.upload_rejected"
	CertificateRemoved  = "tls.upload_removed"
	CertificateReissued = "tls.reissued"
)
