package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"fyne.io/fyne/v2"

	"github.com/parleyhq/parley/server/client"
	"github.com/parleyhq/parley/server/protocol"
)

// envAutopilot names a JSON file (autopilot) that makes the real app walk
// through its screens by itself, the way a person would: complete the
// first-start wizard, show the dashboard, create a meeting and join it with
// the test pattern, writing what it sees to a status file. The end-to-end
// test under Xvfb uses it; people never need it.
const envAutopilot = "PARLEY_AUTOPILOT"

// autopilot is the script of envAutopilot.
type autopilot struct {
	Wizard struct {
		ServerName  string `json:"server_name"`
		Login       string `json:"login"`
		DisplayName string `json:"display_name"`
		Password    string `json:"password"`
	} `json:"wizard"`
	// Meeting is the name of the meeting to create and join; "" joins none.
	Meeting string `json:"meeting"`
	// Status is where the app writes autopilotStatus every second.
	Status string `json:"status"`
	// Screenshots: the dashboard a few seconds after it opens, and the
	// meeting once video from someone else has been drawn.
	DashboardShot string `json:"dashboard_screenshot"`
	MeetingShot   string `json:"meeting_screenshot"`
}

// autopilotStatus is what the app reports while on autopilot.
type autopilotStatus struct {
	Screen       string           `json:"screen"`
	Meeting      string           `json:"meeting"` // the conference's ID
	Link         string           `json:"link"`
	State        string           `json:"state"` // of the meeting
	You          string           `json:"you"`   // your participant id
	Participants int              `json:"participants"`
	Decoded      map[string]int64 `json:"decoded"` // remote camera -> frames decoded
	Error        string           `json:"error,omitempty"`
}

// loadAutopilot reads the script named by envAutopilot, if any.
func loadAutopilot() (*autopilot, error) {
	path := os.Getenv(envAutopilot)
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the autopilot script: %w", err)
	}
	var script autopilot
	if err := json.Unmarshal(data, &script); err != nil {
		return nil, fmt.Errorf("read the autopilot script %s: %w", path, err)
	}
	return &script, nil
}

// fillWizard completes the wizard as a person would, then submits it.
func (p *autopilot) fillWizard(s *shell, v *wizardView) {
	m := v.model
	_ = m.ServerName.Set(p.Wizard.ServerName)
	_ = m.Login.Set(p.Wizard.Login)
	_ = m.DisplayName.Set(p.Wizard.DisplayName)
	_ = m.Password.Set(p.Wizard.Password)
	_ = m.Confirm.Set(p.Wizard.Password)
	s.submitWizard(v)
}

// consoleOpened takes the dashboard's picture, then creates the meeting and
// joins it directly, with the default devices (the test pattern here).
func (p *autopilot) consoleOpened(s *shell, session *Session) {
	s.tasks.Go(func() {
		select {
		case <-time.After(4 * time.Second):
		case <-s.ctx.Done():
			return
		}
		if p.DashboardShot != "" {
			if !s.onUI(func() { p.shoot(s, p.DashboardShot) }) {
				return
			}
		}
		if p.Meeting == "" {
			return
		}
		ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
		defer cancel()
		room, err := session.Client.CreateConference(ctx, client.ConferenceSpec{Name: p.Meeting, Lobby: "off"})
		if err != nil {
			p.report(autopilotStatus{Error: "create the meeting: " + err.Error()})
			return
		}
		fyne.Do(func() { s.openMeeting(JoinRequest{CID: room.CID, Name: room.Name, Direct: true}) })
		p.follow(s, room)
	})
}

// follow writes the status every second until the app quits, and takes
// the meeting's picture once someone else's video has been drawn a while.
func (p *autopilot) follow(s *shell, room client.Conference) {
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	shot := p.MeetingShot == ""
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-ticker.C:
		}
		status := autopilotStatus{Meeting: room.CID, Link: room.Link, Decoded: map[string]int64{}}
		read := s.onUI(func() {
			status.Screen = s.screen
			area, ok := s.meeting.(*meetingArea)
			if !ok {
				return
			}
			status.State, _ = area.model.State.Get()
			you, _ := area.model.You.Get()
			status.You = you.ID
			people, _ := area.model.Participants.Get()
			status.Participants = len(people)
			for _, person := range people {
				if person.ID != you.ID {
					stats := area.devices.video.Stats(person.ID, protocol.Camera)
					status.Decoded[person.ID+"/"+protocol.Camera] = stats.FramesDecoded
				}
			}
			if !shot {
				for _, frames := range status.Decoded {
					if frames >= 30 {
						p.shoot(s, p.MeetingShot)
						shot = true
						break
					}
				}
			}
		})
		if !read {
			return
		}
		p.report(status)
	}
}

func (p *autopilot) shoot(s *shell, path string) {
	if err := s.screenshot(path); err != nil {
		s.log.Error("autopilot screenshot", slog.String("path", path), slog.Any("error", err))
	}
}

// report writes the status file atomically, so a reader never sees half.
func (p *autopilot) report(status autopilotStatus) {
	if p.Status == "" {
		return
	}
	data, _ := json.Marshal(status)
	temp := filepath.Join(filepath.Dir(p.Status), "."+filepath.Base(p.Status)+".tmp")
	if os.WriteFile(temp, data, 0o644) == nil {
		_ = os.Rename(temp, p.Status)
	}
}
