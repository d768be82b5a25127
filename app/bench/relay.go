package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleyhq/parley/app/procstat"
)

// The baseline: the least any server must do to forward this traffic. A
// bare UDP relay, in a process of its own like the server, reads each
// packet and writes a copy to every other participant: no SRTP, no RTCP,
// no layer choice. What it costs per forwarded packet is the physical
// limit of this machine, and Parley's cost reads as a ratio of it.

// RelayResult is what a baseline run measured.
type RelayResult struct {
	Participants              int     `json:"participants"`
	Seconds                   float64 `json:"seconds"`
	ForwardedPacketsPerSecond float64 `json:"forwarded_packets_per_second"`
	ForwardedBitsPerSecond    float64 `json:"forwarded_bits_per_second"`
	Loss                      float64 `json:"loss"`
	CPU                       float64 `json:"cpu"`
	CPUMicrosPerPacket        float64 `json:"cpu_us_per_forwarded_packet"`
}

// relayReport is what the relay process prints when its input closes.
type relayReport struct {
	Forwarded  uint64  `json:"forwarded"`
	Bytes      uint64  `json:"bytes"`
	CPUSeconds float64 `json:"cpu_seconds"`
}

// ServeRelay is the relay process (`parley bench-relay`): it prints the
// UDP port it listens on, forwards every packet to every other address
// it has heard from, and when in closes prints its counts and CPU time.
func ServeRelay(in io.Reader, out io.Writer) error {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return fmt.Errorf("relay: %w", err)
	}
	fmt.Fprintf(out, "port %d\n", conn.LocalAddr().(*net.UDPAddr).Port)
	var forwarded, bytes atomic.Uint64
	done := make(chan struct{})
	go func() {
		defer close(done)
		var peers []netip.AddrPort
		buf := make([]byte, 1500)
		for {
			n, from, err := conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			known := false
			for _, peer := range peers {
				if peer == from {
					known = true
					continue
				}
				if _, err := conn.WriteToUDPAddrPort(buf[:n], peer); err == nil {
					forwarded.Add(1)
					bytes.Add(uint64(n))
				}
			}
			if !known {
				peers = append(peers, from)
			}
		}
	}()
	_, _ = io.Copy(io.Discard, in)
	conn.Close()
	<-done
	return json.NewEncoder(out).Encode(relayReport{Forwarded: forwarded.Load(), Bytes: bytes.Load(), CPUSeconds: procstat.Read().CPU.Seconds()})
}

// Relay runs the baseline: the relay process from binary, and as many
// UDP participants as cfg has, each sending what a meeting participant's
// subscribers get from it (the layer the tile picks, and audio).
func Relay(ctx context.Context, binary string, cfg Config) (RelayResult, error) {
	cfg = cfg.withDefaults()
	result := RelayResult{Participants: cfg.Participants}
	cmd := exec.CommandContext(ctx, binary, "bench-relay")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return result, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return result, err
	}
	if err := cmd.Start(); err != nil {
		return result, fmt.Errorf("start the relay: %w", err)
	}
	defer func() { _ = cmd.Wait() }()
	lines := bufio.NewReader(stdout)
	first, err := lines.ReadString('\n')
	port, convErr := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(first, "port ")))
	if err != nil || convErr != nil {
		stdin.Close()
		return result, fmt.Errorf("the relay did not say its port: %q %v", first, err)
	}
	relay := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))

	layer := 1 // the layer a 640x360 tile gets
	for i, size := range layerSizes {
		if size == cfg.Tile {
			layer = i
		}
	}
	frameBytes := cfg.Bitrates[layer] * 1000 / 8 / cfg.FPS
	packetsPerFrame := (frameBytes + rtpPayloadMax - 1) / rtpPayloadMax
	videoPacket := frameBytes/packetsPerFrame + rtpHeader
	const audioPacket = 12 + 80 // an Opus packet of speech at about 32 kbit/s

	var conns []*net.UDPConn
	defer func() {
		for _, conn := range conns {
			conn.Close()
		}
	}()
	var received atomic.Uint64
	var readers sync.WaitGroup
	for range cfg.Participants {
		conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			stdin.Close()
			return result, err
		}
		conns = append(conns, conn)
		// Say hello, so that the relay knows every participant.
		if _, err := conn.WriteToUDPAddrPort([]byte{0}, relay); err != nil {
			stdin.Close()
			return result, err
		}
		readers.Go(func() {
			buf := make([]byte, 1500)
			for {
				if _, err := conn.Read(buf); err != nil {
					return
				}
				received.Add(1)
			}
		})
	}
	time.Sleep(100 * time.Millisecond)
	received.Store(0)

	sendCtx, stopSending := context.WithTimeout(ctx, cfg.Duration)
	defer stopSending()
	var sent atomic.Uint64
	var senders sync.WaitGroup
	started := time.Now()
	for _, conn := range conns {
		senders.Go(func() {
			video := time.NewTicker(time.Second / time.Duration(cfg.FPS))
			audio := time.NewTicker(20 * time.Millisecond)
			defer video.Stop()
			defer audio.Stop()
			videoPayload, audioPayload := make([]byte, videoPacket), make([]byte, audioPacket)
			for {
				select {
				case <-sendCtx.Done():
					return
				case <-video.C:
					for range packetsPerFrame {
						if _, err := conn.WriteToUDPAddrPort(videoPayload, relay); err == nil {
							sent.Add(1)
						}
					}
				case <-audio.C:
					if _, err := conn.WriteToUDPAddrPort(audioPayload, relay); err == nil {
						sent.Add(1)
					}
				}
			}
		})
	}
	senders.Wait()
	seconds := time.Since(started).Seconds()
	time.Sleep(200 * time.Millisecond) // the last packets on their way
	stdin.Close()
	var report relayReport
	if err := json.NewDecoder(lines).Decode(&report); err != nil {
		return result, fmt.Errorf("the relay's report: %w", err)
	}
	for _, conn := range conns {
		conn.Close()
	}
	readers.Wait()

	result.Seconds = seconds
	// Every participant's packets go to all the others.
	expected := sent.Load() * uint64(cfg.Participants-1)
	if got := received.Load(); expected > 0 && got < expected {
		result.Loss = float64(expected-got) / float64(expected)
	}
	result.ForwardedPacketsPerSecond = float64(report.Forwarded) / seconds
	result.ForwardedBitsPerSecond = 8 * float64(report.Bytes) / seconds
	result.CPU = report.CPUSeconds / seconds
	if report.Forwarded == 0 {
		return result, errors.New("the relay forwarded nothing")
	}
	result.CPUMicrosPerPacket = report.CPUSeconds / float64(report.Forwarded) * 1e6
	return result, nil
}

// The RTP packets of a frame, as the participant packetizes them.
const (
	rtpHeader     = 12
	rtpPayloadMax = 1200 - rtpHeader - 4 // participant's MTU, less the VP8 descriptor
)
