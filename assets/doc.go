// Package assets holds what Parley embeds in its binary: the web client,
// icons and sounds.
package assets
