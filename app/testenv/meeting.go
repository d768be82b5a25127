package testenv

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parleyhq/parley/server/protocol"
)

// Helpers for tests that take part in meetings with the web client
// (assets/web/js/meeting), in Chromium or Firefox.

// OpenMeeting opens a conference's page (base is the server's address,
// ending in "/") and fills the pre-join form.
func OpenMeeting(page *Page, base, cid, guestName, pin string) {
	steps := []chromedp.Action[chromedp.Void]{chromedp.Navigate(base + "c/" + cid), chromedp.WaitVisible("#join")}
	if guestName != "" {
		steps = append(steps, chromedp.SendKeys("#name", guestName))
	}
	if pin != "" {
		steps = append(steps, chromedp.SendKeys("#pin", pin))
	}
	page.Do("open the meeting page", steps...)
}

// ClickJoin joins from the pre-join form.
func ClickJoin(page *Page) {
	page.Do("join", chromedp.Click("#join"))
}

// Media is what a page receives, per remote participant and source.
type Media struct {
	Inbound []struct {
		Participant string `json:"participant"`
		Source      string `json:"source"`
		Kind        string `json:"kind"`
		Frames      int    `json:"frames"`
		Width       int    `json:"width"`
		Packets     int    `json:"packets"`
		// Energy is the audio's totalAudioEnergy (WebRTC statistics): it
		// grows with loudness and time, and stays near 0 for silence.
		Energy float64 `json:"energy"`
	} `json:"inbound"`
	Videos []struct {
		Participant string `json:"participant"`
		Source      string `json:"source"`
		Width       int    `json:"width"`
	} `json:"videos"`
}

const mediaScript = `(async () => {
  const byMid = Object.fromEntries(window.parley.tracks().map(t => [t.mid, t]));
  const inbound = [];
  if (window.parley.pcs && window.parley.pcs.subscribe) {
    const stats = await window.parley.pcs.subscribe.getStats();
    stats.forEach(r => {
      if (r.type !== 'inbound-rtp') return;
      const t = byMid[r.mid] || {};
      inbound.push({participant: t.participant || '', source: t.source || '', kind: r.kind,
        frames: r.framesDecoded || 0, width: r.frameWidth || 0, packets: r.packetsReceived || 0,
        energy: r.totalAudioEnergy || 0});
    });
  }
  const videos = [...document.querySelectorAll('.tile:not(.self) video')].map(v => ({
    participant: v.closest('.tile').dataset.participant, source: v.closest('.tile').dataset.source, width: v.videoWidth}));
  return {inbound, videos};
})()`

// Evaluator is a browser page of either kind: Chromium or Firefox.
type Evaluator interface {
	Eval(expression string, out any)
}

// Received reads what a meeting page receives.
func Received(page Evaluator) Media {
	var m Media
	page.Eval(mediaScript, &m)
	return m
}

// Video reports, for a remote participant, whether its camera is decoded
// and shown and its audio arrives, with counters to compare over time.
func (m Media) Video(participant string) (frames, width, shown int) {
	for _, in := range m.Inbound {
		if in.Participant == participant && in.Source == protocol.Camera {
			frames, width = in.Frames, in.Width
		}
	}
	for _, v := range m.Videos {
		if v.Participant == participant && v.Source == protocol.Camera {
			shown = v.Width
		}
	}
	return frames, width, shown
}

func (m Media) AudioPackets(participant string) int {
	for _, in := range m.Inbound {
		if in.Participant == participant && in.Source == protocol.Microphone {
			return in.Packets
		}
	}
	return 0
}

// AudioEnergy is the total energy of a remote participant's audio so far.
func (m Media) AudioEnergy(participant string) float64 {
	for _, in := range m.Inbound {
		if in.Participant == participant && in.Source == protocol.Microphone {
			return in.Energy
		}
	}
	return 0
}

// You returns the page's own participant id once joined.
func You(page *Page) string {
	var id string
	page.Eval(`window.parley.you && window.parley.you.id`, &id)
	return id
}

// WaitMediaFrom waits until a page decodes video and receives audio from
// each of the others, then checks that both keep coming.
func WaitMediaFrom(t testing.TB, page Evaluator, name string, others ...string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		m := Received(page)
		ready := true
		for _, other := range others {
			frames, width, shown := m.Video(other)
			if frames == 0 || width == 0 || shown == 0 || m.AudioPackets(other) == 0 {
				ready = false
			}
		}
		if ready {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not receive media from %v: %+v", name, others, m)
		}
		time.Sleep(500 * time.Millisecond)
	}
	// Both keep coming: counters rise within a while (a busy machine or a
	// fresh ICE restart may pause them for a moment).
	before := Received(page)
	deadline = time.Now().Add(20 * time.Second)
	for {
		time.Sleep(time.Second)
		after := Received(page)
		var stalled []string
		for _, other := range others {
			framesBefore, _, _ := before.Video(other)
			framesAfter, _, _ := after.Video(other)
			if framesAfter <= framesBefore {
				stalled = append(stalled, fmt.Sprintf("video from %s at %d frames", other, framesAfter))
			}
			if after.AudioPackets(other) <= before.AudioPackets(other) {
				stalled = append(stalled, fmt.Sprintf("audio from %s at %d packets", other, after.AudioPackets(other)))
			}
		}
		if len(stalled) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: media stopped: %s", name, strings.Join(stalled, "; "))
		}
	}
}
