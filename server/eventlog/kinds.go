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

	UserCreated            = "user.created"
	UserUpdated            = "user.updated"
	UserPasswordChanged    = "user.password_changed"
	UserSIPPasswordChanged = "user.sip_password_changed"
	UserUnlocked           = "user.unlocked"
	UserSessionsRevoked    = "user.sessions_revoked"

	GroupCreated = "group.created"
	GroupUpdated = "group.updated"
	GroupDeleted = "group.deleted"

	SettingsChanged = "settings.changed"

	ConferenceCreated     = "conference.created"
	ConferenceUpdated     = "conference.updated"
	ConferenceDeleted     = "conference.deleted"
	ConferenceStarted     = "conference.started"
	ConferenceEnded       = "conference.ended"
	ConferenceJoined      = "conference.joined"
	ConferenceLeft        = "conference.left"
	ConferenceAdmitted    = "conference.admitted"
	ConferenceRefused     = "conference.refused"
	ConferenceMuted       = "conference.muted"
	ConferenceUnmuteAllow = "conference.unmute_allowed"
	ConferenceRemoved     = "conference.removed"
	ConferenceDialed      = "conference.dialed"
	ConferenceRoleChanged = "conference.role_changed"
	ConferenceLocked      = "conference.locked"
	ConferenceUnlocked    = "conference.unlocked"
	ConferencePINChanged  = "conference.pin_changed"

	CertificateUploaded = "tls.uploaded"
	CertificateRejected = "tls.upload_rejected"
	CertificateRemoved  = "tls.upload_removed"
	CertificateReissued = "tls.reissued"
)
