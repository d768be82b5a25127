//go:build !cgo

package app

import (
	"errors"
	"log/slog"

	"github.com/parleyhq/parley/server/client"
	"github.com/parleyhq/parley/server/sip"
)

// newPhoneMedia: a build without cgo has no audio codecs (libopus), so no
// phone calls; the sip subsystem says so.
func newPhoneMedia(func() (*client.Client, error), int, int, func() string, *slog.Logger) (sip.Media, error) {
	return nil, errors.New("this build of Parley has no audio codecs for phones (built without cgo)")
}
