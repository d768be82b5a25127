package assets

import (
	"embed"
	"io/fs"
)

//go:embed web
var embedded embed.FS

//go:embed prompts/*.wav
var prompts embed.FS

// web is the web sub-tree; fs.Sub can only fail on an invalid path, so an
// error here is a build mistake, not a runtime condition.
var web = func() fs.FS {
	sub, err := fs.Sub(embedded, "web")
	if err != nil {
		panic("assets: " + err.Error())
	}
	return sub
}()

// Web returns the web client: index.html and setup.html at its root, the
// files the server publishes under /assets/ below it.
func Web() fs.FS { return web }

// Prompt returns a spoken prompt of the SIP gateway's voice menu (16 kHz
// mono 16-bit WAV; prompts/generate.sh lists them), such as "welcome".
func Prompt(name string) ([]byte, error) {
	return prompts.ReadFile("prompts/" + name + ".wav")
}
