//go:build unix

package app_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/app/testenv"
)

// TestFirefoxJoinsAMeeting has a guest in Firefox meet the owner in
// Chromium in a public conference: each decodes the other's video and
// receives their audio, and chat from Firefox reaches Chromium.
func TestFirefoxJoinsAMeeting(t *testing.T) {
	s, _, c := meetingServer(t, map[string]any{"name": "Firefox check", "lobby": "off"})
	fox := testenv.NewFirefox(t)
	fox.Log = s.Output
	boss := testenv.NewBrowser(t).Page(t)
	boss.Log = s.Output

	signIn(boss, s, "boss", ownerPassword)
	testenv.OpenMeeting(boss, s.URL, c.CID, "", "")
	testenv.ClickJoin(boss)
	boss.WaitState("joined", 30*time.Second)

	fox.Navigate(s.URL + "c/" + c.CID)
	fox.SendKeys("#name", "Fiona")
	fox.Click("#join")
	fox.WaitState("joined", 30*time.Second)
	var foxID string
	fox.Eval(`window.parley.you.id`, &foxID)
	bossID := testenv.You(boss)

	testenv.WaitMediaFrom(t, boss, "boss", foxID)
	testenv.WaitMediaFrom(t, fox, "firefox", bossID)
	fox.Screenshot(filepath.Join(screenshotDir(t), "meeting-firefox.png"))

	var chatOpen bool
	fox.Eval(`document.querySelector('#chat-input').checkVisibility()`, &chatOpen)
	if !chatOpen {
		fox.Click("#chat-toggle")
	}
	fox.SendKeys("#chat-input", "Hello from Firefox")
	fox.Click("#chat-send")
	waitChat(boss, "Hello from Firefox")
	if reported := fox.PageErrors(); len(reported) > 0 {
		t.Errorf("the meeting page reported errors in firefox:\n%s", strings.Join(reported, "\n"))
	}
}
