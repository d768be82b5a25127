package sfu

import (
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
)

// Two publishers and a subscriber: the subscriber gets both participants'
// audio and video on the m= lines the offer's tracks name, with continuous
// sequence numbers, one SSRC per track, and layer h by default.
func TestTwoPublishersOneSubscriber(t *testing.T) {
	engine := newTestSFU(t)
	room := engine.Room("r1")
	alice := joinClient(t, room, "alice")
	bob := joinClient(t, room, "bob")
	carol := joinClient(t, room, "carol")
	alice.publish()
	bob.publish()

	for _, publisher := range []string{"alice", "bob"} {
		carol.waitPackets(publisher, SourceMicrophone, 50)
		carol.waitPackets(publisher, SourceCamera, 50)
	}
	offer, _ := carol.lastOffer()
	if len(offer.tracks) != 4 {
		t.Fatalf("carol's last offer maps %d tracks, want 4: %+v", len(offer.tracks), offer.tracks)
	}
	for _, remote := range offer.tracks {
		received := carol.track(remote.Participant, remote.Source)
		if received == nil {
			t.Fatalf("carol receives nothing for %+v", remote)
		}
		if received.mid != remote.Mid || remote.Track != remote.Participant+"/"+string(remote.Source) || received.kind.String() != remote.Kind {
			t.Errorf("remote track %+v does not match what arrived on mid %s (%s/%s %s)",
				remote, received.mid, received.participant, received.source, received.kind)
		}
		packets, gaps, ssrcs := received.snapshot()
		if gaps != 0 || ssrcs != 1 {
			t.Errorf("%s: %d packets with %d sequence gaps on %d SSRCs, want no gap on 1 SSRC", remote.Track, packets, gaps, ssrcs)
		}
	}
	for _, publisher := range []string{"alice", "bob"} {
		for _, record := range carol.track(publisher, SourceCamera).videoSince(time.Time{}) {
			if record.layer != 'h' {
				t.Fatalf("carol got layer %c of %s's camera before choosing a tile, want h", record.layer, publisher)
			}
		}
		if layer := carol.p.ForwardedLayer(publisher + "/camera"); layer != "h" {
			t.Errorf("ForwardedLayer(%s/camera) = %q, want h", publisher, layer)
		}
	}
	// The publishers receive each other too.
	alice.waitPackets("bob", SourceCamera, 20)
	bob.waitPackets("alice", SourceMicrophone, 20)
	if q := alice.p.Quality(); q != 5 {
		t.Errorf("alice's uplink quality on loopback = %d, want 5", q)
	}
	// The counters count both ways.
	counts := engine.Counters()
	if counts.PacketsIn == 0 || counts.BytesIn <= counts.PacketsIn*12 || counts.PacketsOut == 0 || counts.BytesOut <= counts.PacketsOut*12 {
		t.Errorf("counters %+v", counts)
	}
}

// A participant joining later gets an offer with what is already published;
// when a publisher leaves, the others' offers turn its m= lines inactive.
func TestLateJoinerAndLeavingPublisher(t *testing.T) {
	room := newTestSFU(t).Room("r2")
	alice := joinClient(t, room, "alice")
	alice.publish()
	bob := joinClient(t, room, "bob")
	bob.waitPackets("alice", SourceCamera, 10)

	carol := joinClient(t, room, "carol")
	carol.waitPackets("alice", SourceMicrophone, 10)
	carol.waitPackets("alice", SourceCamera, 10)
	carol.mu.Lock()
	first := carol.offers[0]
	carol.mu.Unlock()
	if len(first.tracks) != 2 {
		t.Fatalf("carol's first offer maps %+v, want alice's microphone and camera", first.tracks)
	}
	if got := len(mediaSections(first.sdp)); got != 2 {
		t.Fatalf("carol's first offer has %d m= lines, want 2", got)
	}

	aliceMids := map[string]bool{}
	offer, offers := bob.lastOffer()
	for _, remote := range offer.tracks {
		aliceMids[remote.Mid] = true
	}
	alice.close()
	waitFor(t, 10*time.Second, "bob's offer without alice", func() bool {
		offer, n := bob.lastOffer()
		return n > offers && len(offer.tracks) == 0
	})
	offer, offers = bob.lastOffer()
	sections := mediaSections(offer.sdp)
	if len(sections) != 2 {
		t.Fatalf("bob's offer after alice left has %d m= lines, want her 2 kept", len(sections))
	}
	for _, section := range sections {
		mid, _ := sectionAttribute(section, "mid")
		if _, inactive := sectionAttribute(section, "inactive"); !aliceMids[mid] || !inactive {
			t.Errorf("m= line %s after alice left: inactive %v, want alice's lines inactive", mid, inactive)
		}
	}
	waitFor(t, 5*time.Second, "bob's answer", func() bool {
		bob.p.subscriber.mu.Lock()
		defer bob.p.subscriber.mu.Unlock()
		return !bob.p.subscriber.awaitingAnswer
	})

	dave := joinClient(t, room, "dave")
	dave.publish()
	waitFor(t, 10*time.Second, "bob's offer with dave", func() bool {
		offer, n := bob.lastOffer()
		return n > offers && len(offer.tracks) == 2
	})
	offer, _ = bob.lastOffer()
	for _, remote := range offer.tracks {
		if remote.Participant != "dave" || aliceMids[remote.Mid] {
			t.Errorf("remote track %+v: want dave on a new m= line", remote)
		}
	}
	for _, section := range mediaSections(offer.sdp) {
		mid, _ := sectionAttribute(section, "mid")
		_, inactive := sectionAttribute(section, "inactive")
		if aliceMids[mid] != inactive {
			t.Errorf("m= line %s: inactive %v; want only alice's former lines inactive", mid, inactive)
		}
	}
	bob.waitPackets("dave", SourceMicrophone, 10)
	bob.waitPackets("dave", SourceCamera, 10)
	carol.waitPackets("dave", SourceCamera, 10)
}

// Simulcast: a small tile gets layer q, a large one f; each switch waits
// for a keyframe of the new layer, which the SFU asked the publisher for,
// and the sequence numbers stay continuous.
func TestSimulcastLayerSelection(t *testing.T) {
	room := newTestSFU(t).Room("r3")
	alice := joinClient(t, room, "alice")
	alice.publish()
	bob := joinClient(t, room, "bob")
	camera := bob.waitPackets("alice", SourceCamera, 20)

	switchTo := func(width, height int, rid string) {
		t.Helper()
		layer, _ := layerIndex(rid)
		plis := alice.plis[layer].Load()
		mark := time.Now()
		bob.p.SetLayer("alice/camera", width, height, false)
		waitFor(t, 10*time.Second, "ForwardedLayer "+rid, func() bool { return bob.p.ForwardedLayer("alice/camera") == rid })
		if alice.plis[layer].Load() == plis {
			t.Errorf("no PLI reached alice for layer %s", rid)
		}
		waitFor(t, 5*time.Second, "packets of layer "+rid, func() bool {
			records := camera.videoSince(mark)
			return len(records) > 0 && records[len(records)-1].layer == rid[0]
		})
		time.Sleep(300 * time.Millisecond)
		switched := false
		for _, record := range camera.videoSince(mark) {
			if record.layer == rid[0] && !switched {
				switched = true
				if !record.keyframe {
					t.Errorf("first packet of layer %s is not a keyframe", rid)
				}
			} else if switched && record.layer != rid[0] {
				t.Errorf("packet of layer %c after the switch to %s", record.layer, rid)
			}
		}
	}
	switchTo(320, 180, "q")
	switchTo(1280, 720, "f")
	switchTo(640, 360, "h")

	if _, gaps, ssrcs := camera.snapshot(); gaps != 0 || ssrcs != 1 {
		t.Errorf("camera across switches: %d sequence gaps on %d SSRCs, want none on 1", gaps, ssrcs)
	}
}

// Paused tracks send nothing; a blocked microphone reaches nobody until
// unblocked, and then continues without a sequence gap.
func TestPauseAndBlock(t *testing.T) {
	room := newTestSFU(t).Room("r4")
	alice := joinClient(t, room, "alice")
	alice.publish()
	bob := joinClient(t, room, "bob")
	carol := joinClient(t, room, "carol")
	camera := bob.waitPackets("alice", SourceCamera, 20)
	bobAudio := bob.waitPackets("alice", SourceMicrophone, 20)
	carolAudio := carol.waitPackets("alice", SourceMicrophone, 20)

	bob.p.SetLayer("alice/camera", 640, 360, true)
	time.Sleep(200 * time.Millisecond)
	mark := time.Now()
	time.Sleep(600 * time.Millisecond)
	if records := camera.videoSince(mark); len(records) != 0 {
		t.Errorf("bob got %d camera packets while paused", len(records))
	}
	if layer := bob.p.ForwardedLayer("alice/camera"); layer != "" {
		t.Errorf("ForwardedLayer while paused = %q, want empty", layer)
	}
	mark = time.Now()
	bob.p.SetLayer("alice/camera", 640, 360, false)
	waitFor(t, 5*time.Second, "camera after unpausing", func() bool { return len(camera.videoSince(mark)) > 10 })

	alice.p.Block(SourceMicrophone, true)
	time.Sleep(200 * time.Millisecond)
	bobBefore, _, _ := bobAudio.snapshot()
	carolBefore, _, _ := carolAudio.snapshot()
	mark = time.Now()
	time.Sleep(600 * time.Millisecond)
	bobAfter, _, _ := bobAudio.snapshot()
	carolAfter, _, _ := carolAudio.snapshot()
	if bobAfter != bobBefore || carolAfter != carolBefore {
		t.Errorf("audio packets while blocked: bob %d, carol %d", bobAfter-bobBefore, carolAfter-carolBefore)
	}
	if len(camera.videoSince(mark)) == 0 {
		t.Error("blocking the microphone stopped the camera")
	}
	alice.p.Block(SourceMicrophone, false)
	waitFor(t, 5*time.Second, "audio after unblocking", func() bool {
		bobNow, _, _ := bobAudio.snapshot()
		carolNow, _, _ := carolAudio.snapshot()
		return bobNow > bobAfter+10 && carolNow > carolAfter+10
	})
	for name, track := range map[string]*receivedTrack{"bob": bobAudio, "carol": carolAudio} {
		if _, gaps, _ := track.snapshot(); gaps != 0 {
			t.Errorf("%s's audio has %d sequence gaps across the block", name, gaps)
		}
	}
}

// A subscriber that stops reading does not slow down anyone else.
func TestStalledSubscriberDoesNotSlowOthers(t *testing.T) {
	room := newTestSFU(t).Room("r5")
	alice := joinClient(t, room, "alice")
	alice.publish()
	bob := joinClient(t, room, "bob")
	carol := joinClient(t, room, "carol")
	bob.waitPackets("alice", SourceCamera, 20)
	camera := carol.waitPackets("alice", SourceCamera, 20)

	rate := func() float64 {
		before, _, _ := camera.snapshot()
		start := time.Now()
		time.Sleep(time.Second)
		after, _, _ := camera.snapshot()
		return float64(after-before) / time.Since(start).Seconds()
	}
	normal := rate()
	bob.stopReading.Store(true)
	time.Sleep(1500 * time.Millisecond) // bob's receive buffers fill up
	stalled := rate()
	if stalled < 0.8*normal {
		t.Errorf("carol's camera rate fell from %.0f to %.0f packets/s while bob stalled", normal, stalled)
	}
}

// RestartICE sends an offer with new ICE credentials and media goes on
// after its answer; a publish offer restarting ICE gets new ones too.
func TestRestartICE(t *testing.T) {
	room := newTestSFU(t).Room("r6")
	alice := joinClient(t, room, "alice")
	alice.publish()
	bob := joinClient(t, room, "bob")
	camera := bob.waitPackets("alice", SourceCamera, 20)

	offer, offers := bob.lastOffer()
	ufrag := iceUfrag(offer.sdp)
	bob.p.RestartICE()
	waitFor(t, 5*time.Second, "restart offer", func() bool {
		_, n := bob.lastOffer()
		return n > offers
	})
	offer, _ = bob.lastOffer()
	if restarted := iceUfrag(offer.sdp); restarted == "" || restarted == ufrag {
		t.Fatalf("restart offer ufrag %q, was %q: want a new one", restarted, ufrag)
	}
	if len(offer.tracks) != 2 {
		t.Errorf("restart offer maps %+v, want alice's two tracks", offer.tracks)
	}
	waitFor(t, 5*time.Second, "restart answer", func() bool {
		bob.p.subscriber.mu.Lock()
		defer bob.p.subscriber.mu.Unlock()
		return !bob.p.subscriber.awaitingAnswer
	})
	packets, _, _ := camera.snapshot()
	waitFor(t, 10*time.Second, "camera after restart", func() bool {
		now, _, _ := camera.snapshot()
		return now > packets+50
	})

	before, after := alice.restartPublishICE()
	if after == "" || after == before {
		t.Fatalf("publish restart answer ufrag %q, was %q: want a new one", after, before)
	}
	packets, _, _ = camera.snapshot()
	waitFor(t, 10*time.Second, "camera after publish restart", func() bool {
		now, _, _ := camera.snapshot()
		return now > packets+50
	})
}

// The louder participant becomes the active speaker.
func TestActiveSpeaker(t *testing.T) {
	room := newTestSFU(t).Room("r7")
	var mu sync.Mutex
	var speakers []string
	room.OnSpeaker(func(participant string) {
		mu.Lock()
		defer mu.Unlock()
		speakers = append(speakers, participant)
	})
	speaker := func() string {
		mu.Lock()
		defer mu.Unlock()
		if len(speakers) == 0 {
			return ""
		}
		return speakers[len(speakers)-1]
	}
	alice := joinClient(t, room, "alice")
	bob := joinClient(t, room, "bob")
	alice.audioLevel.Store(60) // -60 dBov
	bob.audioLevel.Store(20)   // -20 dBov: louder
	alice.publish()
	bob.publish()
	waitFor(t, 10*time.Second, "bob as speaker", func() bool { return speaker() == "bob" })

	alice.audioLevel.Store(10)
	bob.audioLevel.Store(90)
	waitFor(t, 10*time.Second, "alice as speaker", func() bool { return speaker() == "alice" })

	// A blocked microphone does not count.
	alice.p.Block(SourceMicrophone, true)
	waitFor(t, 10*time.Second, "bob as speaker with alice blocked", func() bool { return speaker() == "bob" })
}

// Leaving and closing end every goroutine the SFU and the clients started.
func TestNoGoroutinesOutliveClose(t *testing.T) {
	baseline := runtime.NumGoroutine()
	func() {
		s, err := New(Config{IncludeLoopback: true, Logger: testLogger()})
		if err != nil {
			t.Fatal(err)
		}
		room := s.Room("r8")
		alice := joinClient(t, room, "alice")
		bob := joinClient(t, room, "bob")
		alice.publish()
		bob.publish()
		alice.waitPackets("bob", SourceCamera, 20)
		bob.waitPackets("alice", SourceCamera, 20)

		alice.close()
		room.Close()
		bob.close()
		if err := s.Close(); err != nil {
			t.Error(err)
		}
		if _, err := s.Room("r8").Join("late", bob); !errors.Is(err, ErrClosed) {
			t.Errorf("joining a closed SFU: %v, want ErrClosed", err)
		}
	}()
	deadline := time.Now().Add(15 * time.Second)
	for runtime.NumGoroutine() > baseline {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), baseline, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A screen share added and removed by publish renegotiation reaches the
// others as a track without layers, and goes inactive when it stops.
func TestScreenShareRenegotiation(t *testing.T) {
	room := newTestSFU(t).Room("r9")
	alice := joinClient(t, room, "alice")
	alice.publish()
	bob := joinClient(t, room, "bob")
	bob.waitPackets("alice", SourceCamera, 10)

	alice.shareScreen()
	screen := bob.waitPackets("alice", SourceScreen, 20)
	offer, offers := bob.lastOffer()
	if len(offer.tracks) != 3 {
		t.Fatalf("bob's offer with the screen maps %+v, want three tracks", offer.tracks)
	}
	for _, record := range screen.videoSince(time.Time{}) {
		if record.layer != 's' {
			t.Fatalf("screen packet with marker %c", record.layer)
		}
	}
	if layer := bob.p.ForwardedLayer("alice/screen"); layer != "" {
		t.Errorf("ForwardedLayer of a track without layers = %q, want empty", layer)
	}
	if _, gaps, _ := screen.snapshot(); gaps != 0 {
		t.Errorf("screen has %d sequence gaps", gaps)
	}
	// The camera goes on during the publish renegotiation.
	camera := bob.track("alice", SourceCamera)
	if _, gaps, _ := camera.snapshot(); gaps != 0 {
		t.Errorf("camera has %d sequence gaps across the renegotiation", gaps)
	}

	alice.stopScreen()
	waitFor(t, 10*time.Second, "bob's offer without the screen", func() bool {
		offer, n := bob.lastOffer()
		return n > offers && len(offer.tracks) == 2
	})
	offer, _ = bob.lastOffer()
	for _, remote := range offer.tracks {
		if remote.Source == SourceScreen {
			t.Errorf("screen still mapped: %+v", remote)
		}
	}
	packets, _, _ := camera.snapshot()
	waitFor(t, 5*time.Second, "camera after the screen stopped", func() bool {
		now, _, _ := camera.snapshot()
		return now > packets+10
	})
}

// A subscriber's picture loss indication reaches the publisher as a PLI
// for the layer being forwarded.
func TestSubscriberPLIReachesPublisher(t *testing.T) {
	room := newTestSFU(t).Room("r10")
	alice := joinClient(t, room, "alice")
	alice.publish()
	bob := joinClient(t, room, "bob")
	camera := bob.waitPackets("alice", SourceCamera, 20)
	var ssrc uint32
	camera.mu.Lock()
	for s := range camera.ssrcs {
		ssrc = s
	}
	camera.mu.Unlock()

	time.Sleep(keyframeRequestInterval) // past the rate limit of the first request
	before := alice.plis[defaultLayer].Load()
	if err := bob.subscribePC.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "PLI at alice for layer h", func() bool { return alice.plis[defaultLayer].Load() > before })

	// Many requests at once reach the publisher as one.
	time.Sleep(keyframeRequestInterval)
	before = alice.plis[defaultLayer].Load()
	for range 10 {
		if err := bob.subscribePC.WriteRTCP([]rtcp.Packet{&rtcp.FullIntraRequest{MediaSSRC: ssrc, FIR: []rtcp.FIREntry{{SSRC: ssrc}}}}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(keyframeRequestInterval / 2)
	if got := alice.plis[defaultLayer].Load() - before; got != 1 {
		t.Errorf("10 FIRs within %v became %d PLIs, want 1", keyframeRequestInterval/2, got)
	}
}

// RestartICE while an offer is unanswered (it may have been lost with the
// WebSocket) sends that offer again; the restart offer follows its answer,
// and a second answer to the repeated offer is refused as stale.
func TestRestartICEWhileOfferUnanswered(t *testing.T) {
	room := newTestSFU(t).Room("r11")
	alice := joinClient(t, room, "alice")
	alice.publish()
	bob := joinClient(t, room, "bob")
	bob.waitPackets("alice", SourceCamera, 10)
	waitFor(t, 5*time.Second, "bob's answer", func() bool {
		bob.p.subscriber.mu.Lock()
		defer bob.p.subscriber.mu.Unlock()
		return !bob.p.subscriber.awaitingAnswer
	})

	bob.holdOffers.Store(true)
	_, offers := bob.lastOffer()
	carol := joinClient(t, room, "carol")
	carol.publish()
	nextOffer := func(what string) offerRecord {
		t.Helper()
		waitFor(t, 10*time.Second, what, func() bool {
			_, n := bob.lastOffer()
			return n > offers
		})
		offer, n := bob.lastOffer()
		offers = n
		return offer
	}
	unanswered := nextOffer("an offer with carol")
	bob.p.RestartICE()
	if again := nextOffer("the unanswered offer again"); again.sdp != unanswered.sdp {
		t.Fatal("RestartICE with an offer out did not send that offer again")
	}

	var err error
	if bob.run(func() { err = bob.answer(unanswered.sdp) }); err != nil {
		t.Fatalf("answer to the repeated offer: %v", err)
	}
	restart := nextOffer("the restart offer")
	if iceUfrag(restart.sdp) == iceUfrag(unanswered.sdp) {
		t.Fatal("restart offer keeps the ICE credentials")
	}
	if bob.run(func() { err = bob.answer(unanswered.sdp) }); !errors.Is(err, ErrStaleAnswer) {
		t.Fatalf("second answer to the repeated offer: %v, want ErrStaleAnswer", err)
	}
	bob.holdOffers.Store(false)
	if bob.run(func() { err = bob.answer(restart.sdp) }); err != nil {
		t.Fatalf("answer to the restart offer: %v", err)
	}
	bob.waitPackets("carol", SourceCamera, 20)
	bob.waitPackets("carol", SourceMicrophone, 20)
}
