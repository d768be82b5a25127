package app

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/parleyhq/parley/app/testenv"
)

// TestPublicAddressFromSTUN asks coturn, over the media socket, which
// address it sees: on loopback, the socket's own.
func TestPublicAddressFromSTUN(t *testing.T) {
	coturn := testenv.StartCoturn(t)
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	addr, err := publicAddress(ctx, conn, "stun:127.0.0.1:"+strconv.Itoa(coturn.Port))
	if err != nil {
		t.Fatalf("ask coturn: %v", err)
	}
	if addr != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("coturn sees %v, want 127.0.0.1", addr)
	}

	// A STUN server that does not answer: a clear error within the deadline.
	silent, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	_, err = publicAddress(ctx, conn, "stun:"+silent.LocalAddr().String())
	if err == nil || err.Error() != "STUN server stun:"+silent.LocalAddr().String()+" did not answer" {
		t.Errorf("a silent STUN server: %v", err)
	}
}
