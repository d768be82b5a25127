//go:build !headless

package main

import (
	"context"

	"github.com/parleyhq/parley/app"
	"github.com/parleyhq/parley/ui"
)

// desktop opens the Fyne window (ui). It starts the embedded server only
// when the person chooses to host meetings on this computer, with the
// command line's server options.
var desktop app.Desktop = func(opts app.Options) error {
	return ui.Run(ui.Options{
		StartHost: func(ctx context.Context) (ui.Host, error) {
			host, err := app.Start(ctx, opts)
			if err != nil {
				return nil, err // not a typed nil in the interface
			}
			return host, nil
		},
		Version:   app.Version,
		Logger:    opts.Logger,
		Discovery: opts.Discovery,
		Link:      opts.Link,
	})
}
