// Command parley is the Parley desktop app and conferencing server.
package main

import (
	"os"

	"github.com/parleyhq/parley/app"
)

func main() {
	os.Exit(app.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, desktop))
}
