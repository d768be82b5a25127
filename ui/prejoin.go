package ui

import (
	"context"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/parleyhq/parley/server/protocol"
)

// previewEvery is how often the pre-join screen redraws the self view.
const previewEvery = time.Second / 15

// prejoinScreen lets the person pick a camera and microphone, see
// themselves, and choose to start muted or with the camera off.
func (v *meetingArea) prejoinScreen() fyne.CanvasObject {
	cameras, microphones, ids := deviceChoices()
	preview := canvas.NewImageFromImage(v.devices.preview())
	preview.FillMode = canvas.ImageFillContain
	preview.SetMinSize(fyne.NewSize(480, 270))
	notes := container.NewVBox()
	showNotes := func() {
		notes.RemoveAll()
		for _, note := range v.devices.notes() {
			notes.Add(wrapped(note))
		}
	}
	camera := widget.NewSelect(cameras, func(choice string) {
		v.cameraChoice = choice
		id := ids[choice]
		v.s.background(func(context.Context) error {
			v.devices.setCamera(id)
			return nil
		}, func(error) { showNotes() })
	})
	microphone := widget.NewSelect(microphones, func(choice string) {
		v.micChoice = choice
		v.devices.mu.Lock()
		v.devices.micID = ids[choice]
		v.devices.mu.Unlock()
	})
	muted := widget.NewCheck("Join with the microphone muted", func(on bool) { v.startMuted = on })
	off := widget.NewCheck("Join with the camera off", func(on bool) { v.startOff = on })
	join := widget.NewButtonWithIcon("Join now", theme.MediaVideoIcon(), v.start)
	join.Importance = widget.HighImportance
	back := widget.NewButtonWithIcon("Back", theme.NavigateBackIcon(), v.leave)
	// The default devices are open already: show them chosen without
	// opening them again.
	camera.Selected, microphone.Selected = cameras[0], microphones[0]
	v.devices.mu.Lock()
	v.devices.micID = ids[microphones[0]]
	v.devices.mu.Unlock()
	showNotes()

	// Redraw the self view until the person joins or leaves.
	stop := make(chan struct{})
	v.s.tasks.Go(func() {
		ticker := time.NewTicker(previewEvery)
		defer ticker.Stop()
		for {
			select {
			case <-stop:
				return
			case <-v.ctx.Done():
				return
			case <-ticker.C:
				picture := v.devices.preview()
				fyne.Do(func() {
					preview.Image = picture
					preview.Refresh()
				})
			}
		}
	})
	join.OnTapped = func() {
		close(stop)
		v.start()
	}
	back.OnTapped = func() {
		close(stop)
		v.leave()
	}

	form := widget.NewForm(widget.NewFormItem("Camera", camera), widget.NewFormItem("Microphone", microphone))
	side := container.NewVBox(pageTitle("Join "+v.joinName()), form, muted, off, notes, layout.NewSpacer(),
		container.NewHBox(layout.NewSpacer(), back, join))
	return container.NewCenter(container.NewHBox(preview, minWidth(360, side)))
}

// renderControls shows the state of the microphone, camera and layout
// buttons.
func (v *meetingArea) renderControls() {
	member := v.model.Member()
	if member == nil || v.micBtn == nil {
		return
	}
	if member.Muted(protocol.Microphone) {
		v.micBtn.SetText("Unmute")
		v.micBtn.SetIcon(theme.VolumeMuteIcon())
	} else {
		v.micBtn.SetText("Mute")
		v.micBtn.SetIcon(theme.VolumeUpIcon())
	}
	if member.Muted(protocol.Camera) {
		v.cameraBtn.SetText("Start video")
	} else {
		v.cameraBtn.SetText("Stop video")
	}
	if v.media.speakerView() {
		v.layoutBtn.SetText("Gallery view")
	} else {
		v.layoutBtn.SetText("Speaker view")
	}
}
