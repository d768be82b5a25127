package testenv

import (
	"strings"
	"sync"
)

// OutputBuffer collects a process's output while the test reads it, for
// failure messages.
type OutputBuffer struct {
	mu   sync.Mutex
	text strings.Builder
}

func (b *OutputBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.text.Write(p)
}

func (b *OutputBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.text.String()
}
