package app_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/png"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pion/rtp"
	"gopkg.in/hraban/opus.v2"

	"github.com/parleyhq/parley/app/testenv"
	"github.com/parleyhq/parley/media/capture"
	"github.com/parleyhq/parley/media/participant"
	"github.com/parleyhq/parley/media/playback"
	"github.com/parleyhq/parley/server/client"
	"github.com/parleyhq/parley/server/conference"
	"github.com/parleyhq/parley/server/protocol"
)

// sipServer is meetingServer with the SIP gateway on a free port.
func sipServer(t *testing.T, spec map[string]any) (*testenv.Server, *client.Client, conference.Conference, int) {
	t.Helper()
	sipPort := freePort(t)
	s, owner, c := meetingServerWith(t, spec, "--sip-port", strconv.Itoa(sipPort))
	sipStatus(t, owner, "the SIP gateway", "UDP and TCP port "+strconv.Itoa(sipPort))
	return s, owner, c, sipPort
}

// joinAsHost joins the owner to the meeting as a Go participant with a
// microphone whose remote audio goes to sink (nil: counted only); it
// leaves when the test ends.
func joinAsHost(t *testing.T, owner *client.Client, cid string, sink participant.Sink) *participant.Participant {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	host, err := participant.Join(ctx, owner, cid, participant.Options{Audio: true, Loopback: true, Sink: sink})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(host.Close)
	return host
}

// sipStatus waits until the sip subsystem runs with a note that contains
// want.
func sipStatus(t *testing.T, owner *client.Client, what, want string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	waitFor(t, what, 30*time.Second, func() bool {
		var status struct {
			Subsystems []struct{ Name, State, Reason string } `json:"subsystems"`
		}
		if err := owner.Do(ctx, http.MethodGet, "/api/v1/status", nil, &status); err != nil {
			return false
		}
		for _, sub := range status.Subsystems {
			if sub.Name == "sip" && sub.State == "running" && strings.Contains(sub.Reason, want) {
				return true
			}
		}
		return false
	})
}

// sipp runs a SIPp scenario of testdata/sip against the gateway and
// returns its output; it fails the test if SIPp reports a failed call.
func sipp(t *testing.T, sipPort int, scenario, service string, extra ...string) string {
	t.Helper()
	sippPath := testenv.RequireTool(t, "sipp", "sip-tester")
	dir := t.TempDir()
	if !filepath.IsAbs(scenario) {
		scenario = filepath.Join("testdata", "sip", scenario)
	}
	args := append([]string{"-sf", scenario, "-s", service,
		"-i", "127.0.0.1", "-p", strconv.Itoa(freeUDPPort(t)), "-mi", "127.0.0.1", "-mp", strconv.Itoa(freeUDPPort(t)),
		"-timeout", "60", "-timeout_error", "-nostdin", "-trace_err", "-error_file", filepath.Join(dir, "errors.log")}, extra...)
	if !slices.Contains(extra, "-m") {
		args = append(args, "-m", "1")
	}
	args = append(args, "127.0.0.1:"+strconv.Itoa(sipPort))
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, sippPath, args...)
	cmd.Dir = "."
	out, err := cmd.CombinedOutput()
	if err != nil {
		errors, _ := exec.Command("cat", filepath.Join(dir, "errors.log")).Output()
		t.Fatalf("sipp %s: %v\n%s\nerrors:\n%s", scenario, err, lastLines(string(out), 40), errors)
	}
	return string(out)
}

// freeUDPPort finds a UDP port nobody uses now.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.LocalAddr().(*net.UDPAddr).Port
}

func lastLines(text string, n int) string {
	lines := 0
	for i := len(text) - 1; i >= 0; i-- {
		if text[i] == '\n' {
			if lines++; lines == n {
				return text[i+1:]
			}
		}
	}
	return text
}

// loudness is a sink that decodes each remote participant's Opus audio
// and keeps how loud it was.
type loudness struct {
	mu       sync.Mutex
	decoders map[string]*opus.Decoder
	energy   map[string]float64 // sum of squares
	samples  map[string]int
}

func newLoudness() *loudness {
	return &loudness{decoders: map[string]*opus.Decoder{}, energy: map[string]float64{}, samples: map[string]int{}}
}

func (l *loudness) Audio(participant string, packet *rtp.Packet) {
	l.mu.Lock()
	defer l.mu.Unlock()
	d := l.decoders[participant]
	if d == nil {
		var err error
		if d, err = opus.NewDecoder(48000, 1); err != nil {
			return
		}
		l.decoders[participant] = d
	}
	pcm := make([]int16, 5760)
	n, err := d.Decode(packet.Payload, pcm)
	if err != nil {
		return
	}
	for _, s := range pcm[:n] {
		l.energy[participant] += float64(s) * float64(s)
	}
	l.samples[participant] += n
}

func (l *loudness) Video(string, string, string, *rtp.Packet) {}
func (l *loudness) Gone(string, string)                       {}

// rms is a participant's level so far.
func (l *loudness) rms(participant string) float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.samples[participant] == 0 {
		return 0
	}
	return math.Sqrt(l.energy[participant] / float64(l.samples[participant]))
}

// phoneIn returns the sip participant the host sees, if any.
func phoneIn(p *participant.Participant) (protocol.Participant, bool, bool) {
	var phone protocol.Participant
	joined, left := false, false
	for _, in := range p.Events() {
		switch e := in.Event.(type) {
		case *protocol.ParticipantChanged:
			if e.Type == "participant_joined" && e.Participant.Kind == "sip" {
				phone, joined = e.Participant, true
			}
		case *protocol.ParticipantLeft:
			if joined && e.Participant == phone.ID {
				left = true
			}
		}
	}
	return phone, joined, left
}

// TestPhoneDialsInByConferenceID: a desk phone (SIPp) dials
// sip:00<CID>@server; the host of the meeting sees a phone participant
// named after the caller, hears the phone's audio, sees it become the
// active speaker, and sees it leave when the phone hangs up.
func TestPhoneDialsInByConferenceID(t *testing.T) {
	_, owner, c, sipPort := sipServer(t, map[string]any{"name": "Phones", "lobby": "off"})
	ears := newLoudness()
	host := joinAsHost(t, owner, c.CID, ears)

	sipp(t, sipPort, "dial-in.xml", "00"+c.CID, "-d", "6000")

	phone, joined, left := phoneIn(host)
	if !joined {
		t.Fatal("no phone participant joined")
	}
	if phone.Name != "Desk Phone 1" || phone.Number != "1001" || phone.UserID != 0 {
		t.Errorf("the phone joined as %+v, want Desk Phone 1, number 1001, no user", phone)
	}
	if level := ears.rms(phone.ID); level < 300 {
		t.Errorf("the phone's audio reached the meeting at level %.0f, want speech", level)
	}
	// Its voice makes it the active speaker, as anyone's would.
	spoke := false
	for _, in := range host.Events() {
		if e, ok := in.Event.(*protocol.Speaker); ok && e.Participant == phone.ID {
			spoke = true
		}
	}
	if !spoke {
		t.Error("the phone never became the active speaker")
	}
	waitFor(t, "the phone to leave", 10*time.Second, func() bool { _, _, left = phoneIn(host); return left })
}

// keypadScenario writes a SIPp scenario from testdata/sip/call.xml.tmpl:
// the phone presses keys ('#' and '*' too), then waits wait and hangs up,
// or waits up to wait for the server to hang up.
func keypadScenario(t *testing.T, keys string, serverHangsUp bool, wait time.Duration) string {
	t.Helper()
	type key struct {
		Name  string
		Pause int
	}
	data := struct {
		Keys          []key
		ServerHangsUp bool
		Wait          int
	}{ServerHangsUp: serverHangsUp, Wait: int(wait.Milliseconds())}
	for i, k := range keys {
		name := string(k)
		switch k {
		case '#':
			name = "pound"
		case '*':
			name = "star"
		}
		pause := 300
		if i == 0 {
			pause = 1000
		}
		data.Keys = append(data.Keys, key{Name: name, Pause: pause})
	}
	tmpl, err := template.ParseFiles(filepath.Join("testdata", "sip", "call.xml.tmpl"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "call.xml")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := tmpl.Execute(f, data); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestPhoneEntersConferenceAndPINByKeypad: a phone dials the server
// without a conference; the voice menu asks for the conference ID and then
// the PIN, which the phone types (RFC 4733), and the phone is in.
func TestPhoneEntersConferenceAndPINByKeypad(t *testing.T) {
	_, owner, c, sipPort := sipServer(t, map[string]any{"name": "Keypad", "cid": "4711", "pin": "2468", "lobby": "off"})
	host := joinAsHost(t, owner, c.CID, nil)
	sipp(t, sipPort, keypadScenario(t, "4711#2468#", false, 16*time.Second), "parley")
	phone, joined, _ := phoneIn(host)
	if !joined || phone.Name != "Keypad Phone" {
		t.Fatalf("after typing the conference and PIN, the phone joined: %v (%+v)", joined, phone)
	}
}

// TestWrongPINThreeTimesHangsUp: three wrong PINs and the server says
// goodbye and hangs up; nobody joined.
func TestWrongPINThreeTimesHangsUp(t *testing.T) {
	_, owner, c, sipPort := sipServer(t, map[string]any{"name": "Guarded", "cid": "4711", "pin": "2468", "lobby": "off"})
	host := joinAsHost(t, owner, c.CID, nil)
	sipp(t, sipPort, keypadScenario(t, "4711#1111#1357#9999#", true, 60*time.Second), "parley")
	if _, joined, _ := phoneIn(host); joined {
		t.Error("a phone with a wrong PIN joined")
	}
}

// TestPhoneCancelsBeforeTheAnswer: CANCEL while it rings gets 200, the
// INVITE 487, and no phone joins.
func TestPhoneCancelsBeforeTheAnswer(t *testing.T) {
	_, owner, c, sipPort := sipServer(t, map[string]any{"name": "Ringing", "lobby": "off"})
	host := joinAsHost(t, owner, c.CID, nil)
	sipp(t, sipPort, "cancel.xml", c.CID)
	time.Sleep(time.Second)
	if _, joined, _ := phoneIn(host); joined {
		t.Error("a cancelled call joined the conference")
	}
}

// TestMalformedRequestsGetBadRequest: requests that are not SIP as RFC
// 3261 writes it get 400 (SIPp), one too large for a datagram 513, and
// the gateway still answers afterwards.
func TestMalformedRequestsGetBadRequest(t *testing.T) {
	_, _, c, sipPort := sipServer(t, map[string]any{"name": "Sturdy"})
	sipp(t, sipPort, "malformed.xml", c.CID)

	conn, err := net.Dial("udp4", "127.0.0.1:"+strconv.Itoa(sipPort))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	huge := "OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKhuge\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:x@127.0.0.1>\r\n" +
		"Call-ID: huge\r\nCSeq: 1 OPTIONS\r\nX-Padding: " + strings.Repeat("x", 20000) + "\r\nContent-Length: 0\r\n\r\n"
	if _, err := conn.Write([]byte(huge)); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	answer := make([]byte, 4096)
	n, err := conn.Read(answer)
	if err != nil || !strings.HasPrefix(string(answer[:n]), "SIP/2.0 513 ") || !strings.Contains(string(answer[:n]), "Call-ID: huge") {
		t.Fatalf("a 20 kB request got %q, %v; want 513 with its Call-ID", answer[:n], err)
	}
	// Garbage that is not a request gets nothing, and changes nothing.
	if _, err := conn.Write([]byte("\x00\x01garbage\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	sipp(t, sipPort, "malformed.xml", c.CID)
}

// TestModeratorRemovesPhone: a moderator removes a phone participant and
// the server hangs up on the phone (BYE).
func TestModeratorRemovesPhone(t *testing.T) {
	_, owner, c, sipPort := sipServer(t, map[string]any{"name": "Strict", "lobby": "off"})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	host := joinAsHost(t, owner, c.CID, nil)
	removed := make(chan error, 1)
	go func() {
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			if phone, joined, _ := phoneIn(host); joined {
				_, err := host.Signal().Request(ctx, "mute_participant", &protocol.MuteParticipant{Participant: phone.ID, Source: protocol.Microphone, Force: true})
				if err == nil {
					_, err = host.Signal().Request(ctx, "remove", &protocol.Remove{Participant: phone.ID})
				}
				removed <- err
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		removed <- errors.New("no phone joined")
	}()
	sipp(t, sipPort, keypadScenario(t, "", true, 40*time.Second), c.CID)
	if err := <-removed; err != nil {
		t.Fatal(err)
	}
}

// TestFiftyCallsLeakNothing: fifty short calls in a row, five at a time;
// afterwards the server holds no more sockets, and no more goroutines'
// worth of memory, than before.
func TestFiftyCallsLeakNothing(t *testing.T) {
	s, owner, c, sipPort := sipServer(t, map[string]any{"name": "Busy", "lobby": "off"})
	host := joinAsHost(t, owner, c.CID, nil)
	openFiles := func() int {
		entries, err := os.ReadDir("/proc/" + strconv.Itoa(s.Pid()) + "/fd")
		if err != nil {
			t.Fatal(err)
		}
		return len(entries)
	}
	sipp(t, sipPort, "dial-in.xml", c.CID, "-d", "1000") // warm up
	time.Sleep(2 * time.Second)
	before := openFiles()
	sipp(t, sipPort, "dial-in.xml", c.CID, "-d", "1500", "-m", "50", "-l", "5", "-r", "5")
	waitFor(t, "every call's sockets to close", 20*time.Second, func() bool { return openFiles() <= before+2 })
	joined := 0
	for _, in := range host.Events() {
		if e, ok := in.Event.(*protocol.ParticipantChanged); ok && e.Type == "participant_joined" && e.Participant.Kind == "sip" {
			joined++
		}
	}
	if joined != 51 {
		t.Errorf("%d phones joined, want 51", joined)
	}
}

const sipPassword = "Phone-Secret-42"

// wavTailRMS is the level of the last seconds of a 16-bit mono PCM WAV
// file.
func wavTailRMS(t *testing.T, path string, seconds float64) float64 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	format, at := strings.Index(string(data), "fmt "), strings.Index(string(data), "data")
	if format < 0 || at < 0 || len(data) < at+8 || len(data) < format+16 {
		t.Fatalf("%s is not a WAV file", path)
	}
	rate := int(binary.LittleEndian.Uint32(data[format+12:]))
	channels := int(binary.LittleEndian.Uint16(data[format+10:]))
	samples := data[at+8:]
	n := len(samples) / 2
	from := max(0, n-int(seconds*float64(rate*channels)))
	var sum float64
	for i := from; i < n; i++ {
		s := float64(int16(binary.LittleEndian.Uint16(samples[2*i:])))
		sum += s * s
	}
	if n == from {
		return 0
	}
	return math.Sqrt(sum / float64(n-from))
}

// TestSoftphoneRegistersDialsInAndIsCalled: baresip registers as a
// Parley user (Alice) with her SIP password and dials the conference the
// owner is in with a browser: the browser hears the phone's tone, the
// phone hears the browser's fake microphone, and the phone appears as
// Alice. Then the owner calls Alice from the meeting page; her phone
// answers by itself, joins, and the owner hangs up.
func TestSoftphoneRegistersDialsInAndIsCalled(t *testing.T) {
	s, owner, c, sipPort := sipServer(t, map[string]any{"name": "Softphone", "lobby": "everyone"})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var alice struct{ ID int64 }
	if err := owner.Do(ctx, http.MethodPost, "/api/v1/users", map[string]any{"login": "alice", "display_name": "Alice", "password": "Wonderland-Pass-1", "role": "user"}, &alice); err != nil {
		t.Fatal(err)
	}
	if err := owner.Do(ctx, http.MethodPut, "/api/v1/users/"+strconv.FormatInt(alice.ID, 10)+"/sip-password", map[string]string{"password": sipPassword}, nil); err != nil {
		t.Fatal(err)
	}
	browser := testenv.NewBrowser(t)
	boss := browser.Page(t)
	boss.Log = s.Output
	boss.Do("sign in",
		chromedp.Navigate(s.URL),
		chromedp.WaitVisible("#sign-in-form"),
		chromedp.SendKeys("#sign-in-login", "boss"),
		chromedp.SendKeys("#sign-in-password", ownerPassword),
		chromedp.Click("#sign-in-form button[type=submit]"),
		chromedp.WaitVisible("#view-signed-in"),
	)
	testenv.OpenMeeting(boss, s.URL, c.CID, "", "")
	testenv.ClickJoin(boss)
	boss.WaitState("joined", 30*time.Second)

	server := "127.0.0.1:" + strconv.Itoa(sipPort)
	phone := testenv.StartBaresip(t, testenv.BaresipAccount("<sip:alice@"+server+">;auth_pass="+sipPassword+";answermode=auto;regint=300;audio_codecs=PCMU"), 440)
	phone.WaitRegistered(20 * time.Second)

	// Alice dials in; the lobby holds everyone, so the owner lets her in.
	phone.Command("dial", "sip:"+c.CID+"@"+server)
	phone.WaitEvent("CALL_ESTABLISHED", 20*time.Second)
	boss.WaitFor("Alice's phone in the lobby", `window.parley.lobby().some(e => e.kind === 'sip' && e.name === 'Alice')`, 20*time.Second)
	boss.Do("admit Alice", chromedp.Click(`#participants-toggle`), chromedp.WaitVisible(`#lobby-people [data-action="admit"]`),
		chromedp.Click(`#lobby-people [data-action="admit"]`))
	boss.WaitFor("Alice's phone in the meeting", `window.parley.participants().some(p => p.kind === 'sip' && p.name === 'Alice' && p.user_id > 0)`, 20*time.Second)
	var phoneID string
	boss.Eval(`window.parley.participants().find(p => p.kind === 'sip').id`, &phoneID)
	// A loaded machine may take a while to start playing a new track.
	for deadline := time.Now().Add(60 * time.Second); testenv.Received(boss).AudioEnergy(phoneID) <= 0.05; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the phone's tone never reached the browser; what it receives: %+v", testenv.Received(boss))
		}
	}
	// The phone hears the prompts (lobby, entering), then the browser's
	// beeps: the last two seconds are the beeps alone.
	time.Sleep(5 * time.Second)
	phone.Command("hangup", "")
	phone.WaitEvent("CALL_CLOSED", 10*time.Second)
	boss.WaitFor("the phone to leave", `!window.parley.participants().some(p => p.kind === 'sip')`, 15*time.Second)
	recordings := phone.Recordings()
	if len(recordings) == 0 {
		t.Fatal("baresip recorded nothing it heard")
	}
	if level := wavTailRMS(t, recordings[0], 2); level < 100 {
		t.Errorf("the phone heard the meeting at level %.0f, want the browser's beeps", level)
	}

	// The owner calls Alice: her registered phone rings, answers by
	// itself and comes straight in, past the lobby.
	boss.Do("call Alice",
		chromedp.SendKeys("#dial-target", "alice"),
		chromedp.Click("#dial-call"),
	)
	boss.WaitFor("the call answered", `window.parley.dialCalls().some(c => c.target === 'alice' && c.state === 'answered')`, 30*time.Second)
	if n := count(phone.EventTypes(), "CALL_ESTABLISHED"); n != 2 {
		t.Errorf("the phone established %d calls, want 2", n)
	}
	boss.WaitFor("Alice's phone in the meeting again", `window.parley.participants().some(p => p.kind === 'sip' && p.name === 'Alice')`, 20*time.Second)
	boss.Screenshot(filepath.Join(screenshotDir(t), "meeting-phone.png"))
	boss.Do("hang up", chromedp.Click(`#dial-calls button[data-call]`))
	boss.WaitFor("the call ended", `window.parley.dialCalls().some(c => c.target === 'alice' && c.state === 'ended')`, 20*time.Second)
	boss.WaitFor("Alice's phone to leave", `!window.parley.participants().some(p => p.kind === 'sip')`, 15*time.Second)
	waitFor(t, "the phone to hear the hang-up", 10*time.Second, func() bool { return count(phone.EventTypes(), "CALL_CLOSED") == 2 })
}

func count[T comparable](list []T, value T) int {
	n := 0
	for _, v := range list {
		if v == value {
			n++
		}
	}
	return n
}

// sippPhone runs a SIPp scenario of testdata/sip as a UAS (a phone or a
// PBX that is called) on a free port for calls calls; done reports how
// it ended, output what it said.
func sippPhone(t *testing.T, scenario string, calls int) (port int, done <-chan error, output *testenv.OutputBuffer) {
	t.Helper()
	sippPath := testenv.RequireTool(t, "sipp", "sip-tester")
	port = freeUDPPort(t)
	errorsFile := filepath.Join(t.TempDir(), "errors.log")
	cmd := exec.Command(sippPath, "-sf", filepath.Join("testdata", "sip", scenario), "-i", "127.0.0.1", "-p", strconv.Itoa(port),
		"-mi", "127.0.0.1", "-mp", strconv.Itoa(freeUDPPort(t)), "-m", strconv.Itoa(calls), "-nostdin", "-trace_err", "-error_file", errorsFile,
		"-timeout", "90", "-timeout_error")
	output = &testenv.OutputBuffer{}
	cmd.Stdout, cmd.Stderr = output, output
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ended := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		if err != nil {
			log, _ := os.ReadFile(errorsFile)
			err = fmt.Errorf("%s (SIPp): %w\n%s\n%s", scenario, err, lastLines(output.String(), 30), log)
		}
		ended <- err
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		if t.Failed() {
			t.Logf("%s (SIPp) said:\n%s", scenario, lastLines(output.String(), 40))
		}
	})
	return port, ended, output
}

// waitSipp waits for a SIPp UAS to see its calls through.
func waitSipp(t *testing.T, done <-chan error, output *testenv.OutputBuffer) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("SIPp did not see its calls through:\n%s", lastLines(output.String(), 30))
	}
}

// TestNumbersGoThroughTheDefaultTrunk: with a trunk to a PBX (SIPp) that
// registers and is the default for numbers, a moderator's call to
// "+49 30 123" reaches the PBX as 004930123 from the trunk's account after
// the registration answered the PBX's digest challenge; the answered call
// joins, and hanging it up sends the PBX a BYE.
func TestNumbersGoThroughTheDefaultTrunk(t *testing.T) {
	pbxPort, pbxDone, pbxOutput := sippPhone(t, "pbx.xml", 2)
	_, owner, c, _ := sipServer(t, map[string]any{"name": "Outbound", "lobby": "off"})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	trunk := map[string]any{"name": "pbx", "host": "127.0.0.1", "port": pbxPort, "transport": "udp", "registration": "permanent",
		"login": "parley-trunk", "password": "Trunk-Secret-9", "international_prefix": "00", "default": true}
	if err := owner.Do(ctx, http.MethodPatch, "/api/v1/settings", map[string]any{"sip": map[string]any{"trunks": []any{trunk}}}, nil); err != nil {
		t.Fatal(err)
	}
	sipStatus(t, owner, "the trunk to register", "trunk pbx registered")

	host := joinAsHost(t, owner, c.CID, nil)
	answer, err := host.Signal().Request(ctx, "dial", &protocol.Dial{Target: "+49 30 123"})
	if err != nil {
		t.Fatal(err)
	}
	call := answer.(*protocol.Dialing).Call
	states := func() []string {
		var list []string
		for _, in := range host.Events() {
			if p, ok := in.Event.(*protocol.DialProgress); ok && p.Call == call {
				list = append(list, p.State)
			}
		}
		return list
	}
	waitFor(t, "the PBX to answer", 30*time.Second, func() bool { return slices.Contains(states(), protocol.DialAnswered) })
	waitFor(t, "the call to join", 20*time.Second, func() bool { _, joined, _ := phoneIn(host); return joined })
	if _, err := host.Signal().Request(ctx, "dial_cancel", &protocol.DialCancel{Call: call}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the call to end", 20*time.Second, func() bool { return slices.Contains(states(), protocol.DialEnded) })
	if got := states(); !slices.Equal(got, []string{protocol.DialRinging, protocol.DialAnswered, protocol.DialEnded}) {
		t.Errorf("the call went %v", got)
	}
	waitSipp(t, pbxDone, pbxOutput)
}

// TestSoftphoneOverTLS: baresip registers and calls over SIP over TLS,
// trusting the server's own CA.
func TestSoftphoneOverTLS(t *testing.T) {
	s, owner, c, _ := sipServer(t, map[string]any{"name": "Secure", "lobby": "off"})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tlsPort := freePort(t)
	if err := owner.Do(ctx, http.MethodPatch, "/api/v1/settings", map[string]any{"sip": map[string]any{"tls_port": tlsPort}}, nil); err != nil {
		t.Fatal(err)
	}
	sipStatus(t, owner, "SIP over TLS", "TLS port "+strconv.Itoa(tlsPort))
	if err := owner.Do(ctx, http.MethodPut, "/api/v1/me/sip-password", map[string]string{"password": sipPassword}, nil); err != nil {
		t.Fatal(err)
	}
	host := joinAsHost(t, owner, c.CID, nil)
	server := "127.0.0.1:" + strconv.Itoa(tlsPort)
	phone := testenv.StartBaresip(t, testenv.BaresipAccount("<sip:boss@"+server+";transport=tls>;auth_pass="+sipPassword+";regint=300;audio_codecs=PCMU"), 440,
		"sip_cafile "+filepath.Join(s.DataDir, "tls", "ca.crt"))
	phone.WaitRegistered(20 * time.Second)
	phone.Command("dial", "sip:"+c.CID+"@"+server+";transport=tls")
	phone.WaitEvent("CALL_ESTABLISHED", 20*time.Second)
	waitFor(t, "the phone in the meeting", 20*time.Second, func() bool {
		p, joined, _ := phoneIn(host)
		return joined && p.Name == "The Boss"
	})
	phone.Command("hangup", "")
	phone.WaitEvent("CALL_CLOSED", 10*time.Second)
}

// TestCallAPhoneThroughTheAPI: POST /api/v1/conferences/{cid}/calls calls
// a SIP address (a SIPp phone), GET shows it answered, DELETE hangs up.
func TestCallAPhoneThroughTheAPI(t *testing.T) {
	phonePort, phoneDone, phoneOutput := sippPhone(t, "answer.xml", 1)
	_, owner, c, _ := sipServer(t, map[string]any{"name": "Scripted", "lobby": "everyone"})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	path := "/api/v1/conferences/" + c.CID + "/calls"
	if err := owner.Do(ctx, http.MethodPost, path, map[string]string{"target": "12\x00"}, nil); client.StatusOf(err) != http.StatusBadRequest {
		t.Errorf("a target with a control character: %v, want 400", err)
	}
	if err := owner.Do(ctx, http.MethodPost, path, map[string]string{"target": "nobody"}, nil); client.StatusOf(err) != http.StatusNotFound {
		t.Errorf("a login without a phone: %v, want 404", err)
	}
	var placed struct{ Call string }
	if err := owner.Do(ctx, http.MethodPost, path, map[string]string{"target": "sip:room@127.0.0.1:" + strconv.Itoa(phonePort)}, &placed); err != nil {
		t.Fatal(err)
	}
	type callState struct{ Call, Target, State string }
	stateOf := func() string {
		var list struct{ Calls []callState }
		if err := owner.Do(ctx, http.MethodGet, path, nil, &list); err != nil {
			t.Fatal(err)
		}
		for _, call := range list.Calls {
			if call.Call == placed.Call {
				return call.State
			}
		}
		return ""
	}
	waitFor(t, "the phone to answer", 20*time.Second, func() bool { return stateOf() == protocol.DialAnswered })
	if err := owner.Do(ctx, http.MethodDelete, path+"/"+placed.Call, nil, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the call to end", 20*time.Second, func() bool { return stateOf() == protocol.DialEnded })
	waitSipp(t, phoneDone, phoneOutput)
}

// TestSoftphoneMediaVariants: a softphone that insists on SRTP (SDES
// keys in RTP/SAVP), or offers only Opus, or only G.722 ("HD voice"),
// gets it: the meeting hears the phone's tone and the phone hears the
// entering prompt, so both directions encode (and encrypt) right.
func TestSoftphoneMediaVariants(t *testing.T) {
	for _, c := range []struct{ name, account, module, proof string }{
		{"srtp", "mediaenc=srtp-mand;audio_codecs=PCMU", "srtp.so", "SRTP is Enabled (cryptosuite=AES_CM_128_HMAC_SHA1_80)"},
		{"opus", "audio_codecs=opus/48000/2", "opus.so", "Set audio decoder: opus"},
		{"g722", "audio_codecs=G722/16000/1", "g722.so", "Set audio decoder: G722"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, owner, conf, sipPort := sipServer(t, map[string]any{"name": "Variants", "lobby": "off"})
			ears := newLoudness()
			host := joinAsHost(t, owner, conf.CID, ears)
			server := "127.0.0.1:" + strconv.Itoa(sipPort)
			phone := testenv.StartBaresip(t, testenv.BaresipAccount("<sip:guest@"+server+">;regint=0;"+c.account), 440, "module "+c.module)
			phoneID := dialIn(t, phone, "sip:"+conf.CID+"@"+server, host)
			waitFor(t, "the phone's tone", 20*time.Second, func() bool { return ears.rms(phoneID) > 300 })
			time.Sleep(3 * time.Second) // the entering prompt, for the phone to hear
			phone.Command("hangup", "")
			phone.WaitEvent("CALL_CLOSED", 10*time.Second)
			if !strings.Contains(phone.Output(), c.proof) {
				t.Errorf("the phone does not say %q:\n%s", c.proof, phone.Output())
			}
			recordings := phone.Recordings()
			if len(recordings) == 0 {
				t.Fatal("baresip recorded nothing it heard")
			}
			if level := wavTailRMS(t, recordings[0], 100); level < 100 {
				t.Errorf("the phone heard level %.0f, want the entering prompt", level)
			}
		})
	}
}

// TestVideoPhone: baresip sends H.264 (its avcodec module, a fake camera)
// into a meeting a browser and a Go participant are in: the browser
// decodes the phone's video, and so does the desktop app's player
// (media/playback, which the Go participant uses); the phone receives the
// browser's camera, transcoded to H.264, and decodes it (its snapshot of
// what it shows). Then the meeting calls the phone, which answers with
// video again.
func TestVideoPhone(t *testing.T) {
	s, owner, c, sipPort := sipServer(t, map[string]any{"name": "Video phone", "lobby": "off"})
	browser := testenv.NewBrowser(t)
	guest := browser.Page(t)
	guest.Log = s.Output
	testenv.OpenMeeting(guest, s.URL, c.CID, "Browser", "")
	testenv.ClickJoin(guest)
	guest.WaitState("joined", 30*time.Second)
	desktop := playback.NewVideo(nil)
	defer desktop.Close()
	joinAsHost(t, owner, c.CID, playback.Sink(desktop, nil))

	server := "127.0.0.1:" + strconv.Itoa(sipPort)
	phone := startVideoPhone(t, server, "")
	phone.Command("dial", "sip:"+c.CID+"@"+server)
	phone.WaitEvent("CALL_ESTABLISHED", 20*time.Second)
	phoneID := waitVideoPhone(t, guest, desktop)

	// The browser's camera, transcoded for the phone (standard quality:
	// 640x360, within the level 3.1 it offered).
	picture := waitPhoneScreen(t, phone, 640)
	if data, err := os.ReadFile(picture); err == nil {
		_ = os.WriteFile(filepath.Join(screenshotDir(t), "video-phone-screen.png"), data, 0o644)
	}
	guest.Screenshot(filepath.Join(screenshotDir(t), "meeting-video-phone.png"))
	phone.Command("hangup", "")
	phone.WaitEvent("CALL_CLOSED", 10*time.Second)
	guest.WaitFor("the phone to leave", `!window.parley.participants().some(p => p.kind === 'sip' && p.id === '`+phoneID+`')`, 15*time.Second)

	// The meeting calls the phone: the offer has video, and the phone's
	// answer takes it.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := owner.Do(ctx, http.MethodPost, "/api/v1/conferences/"+c.CID+"/calls",
		map[string]string{"target": "sip:guest@127.0.0.1:" + strconv.Itoa(phone.Port)}, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the phone to answer", 20*time.Second, func() bool { return count(phone.EventTypes(), "CALL_ESTABLISHED") == 2 })
	waitVideoPhone(t, guest, desktop)
}

// startVideoPhone runs baresip as a video phone: H.264 (avcodec; it
// offers packetization modes 0 and 1, and H.263, MPEG-4 and H.265, which
// Parley refuses), a fake camera of 352x288, and snapshots of what it
// shows.
// account adds parameters to its account line, config lines to its
// configuration.
func startVideoPhone(t *testing.T, server, account string, config ...string) *testenv.Baresip {
	t.Helper()
	testenv.RequireFile(t, "/usr/lib/baresip/modules/avcodec.so", "baresip-ffmpeg")
	return testenv.StartBaresip(t, testenv.BaresipAccount("<sip:guest@"+server+">;regint=0;answermode=auto;audio_codecs=PCMU"+account), 440,
		append([]string{"module avcodec.so", "module fakevideo.so", "module snapshot.so",
			"video_source fakevideo,nil", "video_display fakevideo,nil", "video_size 352x288", "video_fps 15", "video_bitrate 500000"}, config...)...)
}

// dialIn has a baresip phone call address and waits until it is in the
// meeting host is in; it returns the phone's participant id.
func dialIn(t *testing.T, phone *testenv.Baresip, address string, host *participant.Participant) string {
	t.Helper()
	phone.Command("dial", address)
	phone.WaitEvent("CALL_ESTABLISHED", 20*time.Second)
	var phoneID string
	waitFor(t, "the phone in the meeting", 20*time.Second, func() bool {
		p, joined, _ := phoneIn(host)
		phoneID = p.ID
		return joined
	})
	return phoneID
}

// waitPhoneScreen waits until a phone shows a picture of the given width
// that is not blank, and returns the snapshot's file.
func waitPhoneScreen(t *testing.T, phone *testenv.Baresip, width int) string {
	t.Helper()
	picture := filepath.Join(phone.Dir, "received.png")
	var shown image.Image
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(time.Second) {
		phone.Command("snapshot_recv", picture)
		time.Sleep(500 * time.Millisecond)
		if data, err := os.ReadFile(picture); err == nil {
			if shown, err = png.Decode(bytes.NewReader(data)); err == nil && shown.Bounds().Dx() == width && !flatPicture(shown) {
				return picture
			}
		}
		if time.Now().After(deadline) {
			var size image.Point
			if shown != nil {
				size = shown.Bounds().Size()
			}
			t.Fatalf("the phone shows no picture %d wide (last %v):\n%s", width, size, lastLines(phone.Output(), 40))
		}
	}
}

// TestTwoVideoPhones: a phone sees the other's H.264 as it came (352x288,
// the other's size), relayed rather than encoded again.
func TestTwoVideoPhones(t *testing.T) {
	_, owner, c, sipPort := sipServer(t, map[string]any{"name": "Two video phones", "lobby": "off"})
	joinAsHost(t, owner, c.CID, nil)
	server := "127.0.0.1:" + strconv.Itoa(sipPort)
	first, second := startVideoPhone(t, server, ""), startVideoPhone(t, server, "")
	for _, phone := range []*testenv.Baresip{first, second} {
		phone.Command("dial", "sip:"+c.CID+"@"+server)
		phone.WaitEvent("CALL_ESTABLISHED", 20*time.Second)
	}
	waitPhoneScreen(t, first, 352)
	waitPhoneScreen(t, second, 352)
	for _, phone := range []*testenv.Baresip{first, second} {
		phone.Command("hangup", "")
		phone.WaitEvent("CALL_CLOSED", 10*time.Second)
	}
}

// waitVideoPhone waits until a phone's video plays in the browser (as
// H.264, at the phone's 352x288) and in media/playback, and returns the
// phone's participant id.
func waitVideoPhone(t *testing.T, guest *testenv.Page, desktop *playback.Video) string {
	t.Helper()
	guest.WaitFor("a phone in the meeting", `window.parley.participants().some(p => p.kind === 'sip')`, 20*time.Second)
	var phoneID string
	guest.Eval(`window.parley.participants().find(p => p.kind === 'sip').id`, &phoneID)
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		frames, width, shown := testenv.Received(guest).Video(phoneID)
		if frames > 30 && width == 352 && shown == 352 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the browser shows the phone's video: %d frames of width %d, a tile %d wide; it receives %+v", frames, width, shown, testenv.Received(guest))
		}
	}
	var codecs string
	guest.Eval(`(async () => { let mime = ''; (await window.parley.pcs.subscribe.getStats()).forEach(r => { if (r.type === 'codec' && r.mimeType.startsWith('video/')) mime += r.mimeType + ' '; }); return mime; })()`, &codecs)
	if !strings.Contains(codecs, "H264") {
		t.Errorf("the browser receives video in %q, want the phone's H.264", codecs)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		stats := desktop.Stats(phoneID, protocol.Camera)
		if stats.FramesDecoded > 30 && stats.Width == 352 && stats.Height == 288 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the desktop player decodes the phone's video: %+v", stats)
		}
	}
	return phoneID
}

// flatPicture says a picture is one colour (a blank screen), by the
// spread of its brightness.
func flatPicture(picture image.Image) bool {
	lowest, highest := uint32(1<<16), uint32(0)
	bounds := picture.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y += 4 {
		for x := bounds.Min.X; x < bounds.Max.X; x += 4 {
			r, g, b, _ := picture.At(x, y).RGBA()
			luma := (r + 2*g + b) / 4
			lowest, highest = min(lowest, luma), max(highest, luma)
		}
	}
	return highest-lowest < 4096
}

// TestVideoPhoneOverSRTP: a video phone that insists on SRTP (SDES keys on
// both lines) sends its H.264 to a desktop player and sees the desktop's
// camera (a test pattern), both encrypted.
func TestVideoPhoneOverSRTP(t *testing.T) {
	_, owner, c, sipPort := sipServer(t, map[string]any{"name": "Secret video", "lobby": "off"})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pattern := capture.TestPattern(640, 360, 15)
	defer pattern.Close()
	layers, err := pattern.Encoders(false)
	if err != nil {
		t.Fatal(err)
	}
	desktop := playback.NewVideo(nil)
	defer desktop.Close()
	host, err := participant.Join(ctx, owner, c.CID, participant.Options{VideoLayers: layers, AudioSource: capture.Silence(),
		Loopback: true, Sink: playback.Sink(desktop, nil)})
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()

	server := "127.0.0.1:" + strconv.Itoa(sipPort)
	phone := startVideoPhone(t, server, ";mediaenc=srtp-mand", "module srtp.so")
	phoneID := dialIn(t, phone, "sip:"+c.CID+"@"+server, host)
	waitFor(t, "the phone's video decoded", 30*time.Second, func() bool {
		stats := desktop.Stats(phoneID, protocol.Camera)
		return stats.FramesDecoded > 30 && stats.Width == 352
	})
	waitPhoneScreen(t, phone, 640)
	if n := strings.Count(phone.Output(), "SRTP is Enabled"); n < 2 {
		t.Errorf("the phone enabled SRTP on %d streams, want audio and video:\n%s", n, lastLines(phone.Output(), 40))
	}
	phone.Command("hangup", "")
	phone.WaitEvent("CALL_CLOSED", 10*time.Second)
}
