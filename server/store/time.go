package store

import "time"

// Times are stored as Unix milliseconds (UTC): compact, sortable, and free
// of the text formats SQLite drivers disagree on.

// NowMillis is the current time in storage form.
func NowMillis() int64 { return time.Now().UnixMilli() }

// Millis converts a time to storage form; the zero time is stored as 0.
func Millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// FromMillis converts storage form back; 0 becomes the zero time.
func FromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
