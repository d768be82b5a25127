package testenv

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Baresip is a running baresip softphone: one account, audio from a sine
// source, what it hears recorded (sndfile) in Dir, and its control socket
// (ctrl_tcp) for commands and events.
type Baresip struct {
	Dir  string // where its configuration and recordings are
	Port int    // the SIP port it listens on

	t      testing.TB
	cmd    *exec.Cmd
	ctrl   net.Conn
	output *OutputBuffer

	mu     sync.Mutex
	events []map[string]any
	token  int
}

// BaresipAccount is a baresip account line's address and parameters, such
// as "<sip:alice@127.0.0.1:5060>;auth_pass=Secret;answermode=auto".
type BaresipAccount string

// StartBaresip runs baresip with one account on loopback, and any extra
// configuration lines ("sip_cafile /path/ca.crt"); it is killed when the
// test ends.
func StartBaresip(t testing.TB, account BaresipAccount, toneHz int, extraConfig ...string) *Baresip {
	t.Helper()
	path := RequireTool(t, "baresip", "baresip")
	dir := t.TempDir()
	port, ctrlPort := freeLoopbackPort(t, "udp"), freeLoopbackPort(t, "tcp")
	config := strings.Join([]string{
		"poll_method epoll",
		"sip_listen 127.0.0.1:" + strconv.Itoa(port),
		"audio_player alsa,null",
		"audio_source ausine," + strconv.Itoa(toneHz),
		"ausrc_srate 48000", // ausine makes 48 kHz stereo only; baresip converts
		"ausrc_channels 2",  // and stereo only
		"audio_alert alsa,null",
		"module_path /usr/lib/baresip/modules",
		"module stdio.so",
		"module g711.so",
		"module ausine.so",
		"module alsa.so",
		"module sndfile.so",
		"snd_path " + dir,
		"module_app account.so",
		"module_app menu.so",
		"module_app ctrl_tcp.so",
		"ctrl_tcp_listen 127.0.0.1:" + strconv.Itoa(ctrlPort),
		strings.Join(extraConfig, "\n"),
		"",
	}, "\n")
	for name, text := range map[string]string{"config": config, "accounts": string(account) + "\n", "contacts": ""} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	b := &Baresip{Dir: dir, Port: port, t: t, output: &OutputBuffer{}}
	b.cmd = exec.Command(path, "-f", dir, "-v")
	b.cmd.Stdout, b.cmd.Stderr = b.output, b.output
	b.cmd.Stdin = strings.NewReader("") // no console commands
	if err := b.cmd.Start(); err != nil {
		t.Fatalf("start baresip: %v", err)
	}
	t.Cleanup(func() {
		_ = b.cmd.Process.Kill()
		_ = b.cmd.Wait()
		if t.Failed() {
			t.Logf("baresip said:\n%s", b.output.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(ctrlPort))
		if err == nil {
			b.ctrl = conn
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("baresip's control port never opened: %v\n%s", err, b.output.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	go b.read()
	return b
}

// read collects the control socket's messages (netstrings of JSON).
func (b *Baresip) read() {
	r := bufio.NewReader(b.ctrl)
	for {
		lengthText, err := r.ReadString(':')
		if err != nil {
			return
		}
		length, err := strconv.Atoi(strings.TrimSuffix(lengthText, ":"))
		if err != nil || length > 1<<20 {
			return
		}
		body := make([]byte, length+1) // and the closing comma
		if _, err := io.ReadFull(r, body); err != nil {
			return
		}
		var message map[string]any
		if json.Unmarshal(body[:length], &message) == nil {
			b.mu.Lock()
			b.events = append(b.events, message)
			b.mu.Unlock()
		}
	}
}

// Command sends a command ("dial", "hangup"...) with its parameters.
func (b *Baresip) Command(command, params string) {
	b.t.Helper()
	b.mu.Lock()
	b.token++
	token := strconv.Itoa(b.token)
	b.mu.Unlock()
	body, _ := json.Marshal(map[string]string{"command": command, "params": params, "token": token})
	if _, err := fmt.Fprintf(b.ctrl, "%d:%s,", len(body), body); err != nil {
		b.t.Fatalf("baresip command %s: %v", command, err)
	}
}

// WaitEvent waits for an event of a type ("REGISTER_OK",
// "CALL_ESTABLISHED", "CALL_CLOSED"...) and returns it.
func (b *Baresip) WaitEvent(kind string, within time.Duration) map[string]any {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	for {
		b.mu.Lock()
		for _, e := range b.events {
			if e["type"] == kind {
				b.mu.Unlock()
				return e
			}
		}
		b.mu.Unlock()
		select {
		case <-ctx.Done():
			b.t.Fatalf("baresip: no %s within %s; events %v\n%s", kind, within, b.EventTypes(), b.output.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// WaitRegistered waits until the account is registered. Registration can
// be over before the control socket connects, so its console line counts
// as well as the REGISTER_OK event.
func (b *Baresip) WaitRegistered(within time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(within)
	for !strings.Contains(b.output.String(), "registered successfully") && !slices.Contains(b.EventTypes(), "REGISTER_OK") {
		if time.Now().After(deadline) {
			b.t.Fatalf("baresip did not register within %s:\n%s", within, b.output.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// EventTypes are the types of the events so far, oldest first.
func (b *Baresip) EventTypes() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var kinds []string
	for _, e := range b.events {
		if kind, ok := e["type"].(string); ok {
			kinds = append(kinds, kind)
		}
	}
	return kinds
}

// Output is what baresip printed so far.
func (b *Baresip) Output() string { return b.output.String() }

// Recordings are the WAV files sndfile wrote of what the phone heard
// (decoded audio, "-dec" in the name).
func (b *Baresip) Recordings() []string {
	files, _ := filepath.Glob(filepath.Join(b.Dir, "dump-*-dec.wav"))
	return files
}

// freeLoopbackPort finds a free UDP or TCP port on 127.0.0.1.
func freeLoopbackPort(t testing.TB, network string) int {
	t.Helper()
	if network == "udp" {
		conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return conn.LocalAddr().(*net.UDPAddr).Port
	}
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
