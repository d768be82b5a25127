package participant

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Sink takes the media of remote participants, one RTP packet at a time:
// a player decodes and shows or plays it. It gets VP8 and H.264 video
// (codec is the MIME type, video/VP8 or video/H264) and Opus audio;
// tracks in other codecs are only counted. Each remote track calls from its own goroutine; the packets are
// the sink's to keep. Gone comes once a track has ended (its participant
// left, or stopped a screen share).
type Sink interface {
	Video(participant, source, codec string, packet *rtp.Packet)
	Audio(participant string, packet *rtp.Packet)
	Gone(participant, source string)
}

// Counter counts what arrives on one remote track.
type Counter struct {
	Packets atomic.Int64
	Bytes   atomic.Int64
	First   atomic.Int64 // unix nanoseconds of the first packet
}

// remoteTrack is what the participant knows of a track it receives.
type remoteTrack struct {
	counter Counter
	ssrc    atomic.Uint32 // of the track now arriving, for keyframe requests
}

// receive reads a remote track until it ends, counting its packets and
// handing them to the sink.
func (p *Participant) receive(track *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	participant, source := track.StreamID(), track.ID()
	key := participant + "/" + source
	p.mu.Lock()
	if p.closing {
		p.mu.Unlock()
		return
	}
	// Counted under mu, which Close takes before it waits for receivers.
	p.receivers.Add(1)
	defer p.receivers.Done()
	remote := p.received[key]
	if remote == nil {
		remote = &remoteTrack{}
		p.received[key] = remote
	}
	p.mu.Unlock()
	remote.ssrc.Store(uint32(track.SSRC()))
	sink, video, codec := p.opts.Sink, track.Kind() == webrtc.RTPCodecTypeVideo, track.Codec().MimeType
	if sink != nil {
		defer sink.Gone(participant, source)
		if !slices.ContainsFunc([]string{webrtc.MimeTypeVP8, webrtc.MimeTypeH264, webrtc.MimeTypeOpus}, func(known string) bool { return strings.EqualFold(codec, known) }) {
			p.logger.Warn("cannot play this codec; only counting its packets", slog.String("track", key), slog.String("codec", codec))
			sink = nil
		}
	}
	buffer := make([]byte, 1500)
	for {
		n, _, err := track.Read(buffer)
		if err != nil {
			return
		}
		counter := &remote.counter
		if counter.Packets.Add(1) == 1 {
			counter.First.Store(time.Now().UnixNano())
		}
		counter.Bytes.Add(int64(n))
		if sink == nil {
			continue
		}
		packet := &rtp.Packet{}
		if err := packet.Unmarshal(buffer[:n]); err != nil {
			continue
		}
		// The packet points into buffer, which the next read reuses.
		packet.Payload = append([]byte(nil), packet.Payload...)
		if video {
			sink.Video(participant, source, codec, packet)
		} else {
			sink.Audio(participant, packet)
		}
	}
}

// Received returns the counts of media from a participant's source.
func (p *Participant) Received(participant, source string) (packets, bytes int64) {
	p.mu.Lock()
	remote := p.received[participant+"/"+source]
	p.mu.Unlock()
	if remote == nil {
		return 0, 0
	}
	return remote.counter.Packets.Load(), remote.counter.Bytes.Load()
}

// FirstPacket is when the first packet from a participant's source came.
func (p *Participant) FirstPacket(participant, source string) time.Time {
	p.mu.Lock()
	remote := p.received[participant+"/"+source]
	p.mu.Unlock()
	if remote == nil || remote.counter.First.Load() == 0 {
		return time.Time{}
	}
	return time.Unix(0, remote.counter.First.Load())
}

// RequestKeyframe asks, through the server, for a keyframe of a remote
// participant's video (a picture loss indication): a decoder that lost
// packets needs one to show a correct picture again.
func (p *Participant) RequestKeyframe(participant, source string) error {
	p.mu.Lock()
	remote := p.received[participant+"/"+source]
	p.mu.Unlock()
	if remote == nil {
		return fmt.Errorf("request keyframe: not receiving %s/%s", participant, source)
	}
	if err := p.subscribe.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: remote.ssrc.Load()}}); err != nil {
		return fmt.Errorf("request keyframe of %s/%s: %w", participant, source, err)
	}
	return nil
}
