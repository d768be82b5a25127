package web

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/pion/stun/v4"
)

// framedBindingRequest is how an ICE-TCP peer opens: a STUN binding
// request with the RFC 4571 two-byte length before it.
func framedBindingRequest(t *testing.T) []byte {
	t.Helper()
	msg, err := stun.Build(stun.TransactionID, stun.BindingRequest, stun.NewUsername("server:client"))
	if err != nil {
		t.Fatal(err)
	}
	framed := binary.BigEndian.AppendUint16(nil, uint16(len(msg.Raw)))
	return append(framed, msg.Raw...)
}

// TestOnePortForHTTPSAndICETCP sends HTTPS, ICE-TCP and garbage to the
// HTTPS port: HTTPS is served, the ICE-TCP connection reaches the media
// plane with its first bytes intact, the garbage is closed, and a silent
// connection holds up nobody.
func TestOnePortForHTTPSAndICETCP(t *testing.T) {
	server := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") }),
		Ports{Address: "127.0.0.1"})
	media := make(chan net.Conn, 1)
	server.PassICETCP(func(c net.Conn) { media <- c })
	ctx, cancel := context.WithCancel(context.Background())
	st := newReporter()
	served := make(chan error, 1)
	go func() { served <- server.Serve(ctx, st) }()
	<-st.ready
	address := "127.0.0.1:" + strconv.Itoa(server.HTTPSPort())

	silent, err := net.Dial("tcp", address)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()

	resp, err := insecureClient().Get("https://" + address + "/")
	if err != nil {
		t.Fatalf("HTTPS beside a silent connection: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello" {
		t.Errorf("HTTPS answered %q", body)
	}

	ice, err := net.Dial("tcp", address)
	if err != nil {
		t.Fatal(err)
	}
	defer ice.Close()
	request := framedBindingRequest(t)
	if _, err := ice.Write(request); err != nil {
		t.Fatal(err)
	}
	select {
	case conn := <-media:
		got := make([]byte, len(request))
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(conn, got); err != nil {
			t.Fatalf("read the handed-on connection: %v", err)
		}
		if string(got) != string(request) {
			t.Errorf("the media plane read %x, the peer sent %x", got, request)
		}
		// It is the peer's connection: what the media plane writes arrives.
		conn.Write([]byte("pong"))
		pong := make([]byte, 4)
		ice.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(ice, pong); err != nil || string(pong) != "pong" {
			t.Errorf("the peer read %q, %v", pong, err)
		}
		conn.Close()
	case <-time.After(5 * time.Second):
		t.Fatal("the ICE-TCP connection did not reach the media plane")
	}

	garbage, err := net.Dial("tcp", address)
	if err != nil {
		t.Fatal(err)
	}
	defer garbage.Close()
	garbage.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	garbage.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := garbage.Read(make([]byte, 1)); err == nil {
		t.Errorf("plain HTTP on the HTTPS port got %d bytes back instead of a close", n)
	}

	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve waited for the silent connection")
	}
}

func TestConnectionKinds(t *testing.T) {
	for _, c := range []struct {
		name   string
		prefix []byte
		want   connectionKind
	}{
		{"TLS handshake", []byte{0x16, 0x03, 0x01, 0x02, 0x00}, tlsConnection},
		{"framed binding request", []byte{0x00, 0x64, 0x00, 0x01, 0x00, 0x50, 0x21, 0x12, 0xA4, 0x42}, iceTCPConnection},
		{"wrong cookie", []byte{0x00, 0x64, 0x00, 0x01, 0x00, 0x50, 0x21, 0x12, 0xA4, 0x43}, unknownConnection},
		{"RTP-like first byte", []byte{0x00, 0x64, 0x80, 0x01, 0x00, 0x50, 0x21, 0x12, 0xA4, 0x42}, unknownConnection},
		{"plain HTTP", []byte("GET / HTTP"), unknownConnection},
		{"short", []byte{0x00}, unknownConnection},
	} {
		if got := kindOf(c.prefix); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
