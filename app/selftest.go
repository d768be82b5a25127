package app

import (
	"errors"
	"fmt"
	"time"

	"github.com/parleyhq/parley/media/sfu"
	"github.com/parleyhq/parley/server/api"
)

// selfTestTimeout is how long the server's end of a connection test lives:
// the test page gives up connecting after 10 s, then measures round trips.
const selfTestTimeout = 20 * time.Second

// selfTest answers the offer of the /test page's connection test with a
// probe of the running SFU (api.Config.SelfTest).
func (m *mediaService) selfTest(offer, transport string) (string, error) {
	engine := m.sfu()
	if engine == nil {
		return "", fmt.Errorf("%w: %w", api.ErrSelfTestUnavailable, errMediaDown)
	}
	answer, err := engine.Probe(offer, transport, selfTestTimeout)
	switch {
	case errors.Is(err, sfu.ErrInvalid):
		return "", fmt.Errorf("%w: %w", api.ErrOfferRefused, err)
	case errors.Is(err, sfu.ErrTooManyProbes), errors.Is(err, sfu.ErrClosed):
		// Closed: the SFU is being replaced; the next test gets the new one.
		return "", fmt.Errorf("%w: %w", api.ErrSelfTestUnavailable, err)
	case err != nil:
		return "", fmt.Errorf("connection test: %w", err)
	}
	return answer, nil
}
