package sfu

import (
	"testing"
	"time"
)

// speak feeds the detector a packet every 20 ms per participant for a
// while and returns the speaker changes it reported.
func speak(d *speakerDetector, start time.Time, duration time.Duration, levels map[string]uint8) (time.Time, []string) {
	var changes []string
	now := start
	for ; now.Sub(start) < duration; now = now.Add(20 * time.Millisecond) {
		for participant, level := range levels {
			if speaker, changed := d.observe(participant, level, now); changed {
				changes = append(changes, speaker)
			}
		}
	}
	return now, changes
}

func TestSpeakerDetector(t *testing.T) {
	d := newSpeakerDetector()
	now := time.Unix(0, 0)

	now, changes := speak(d, now, 2*time.Second, map[string]uint8{"a": 127, "b": 127})
	if len(changes) != 0 {
		t.Fatalf("silence made %v speak", changes)
	}
	now, changes = speak(d, now, 2*time.Second, map[string]uint8{"a": 30, "b": 60})
	if len(changes) != 1 || changes[0] != "a" {
		t.Fatalf("a much louder: changes %v, want [a]", changes)
	}
	// b slightly louder than a: within the margin, no flapping.
	now, changes = speak(d, now, 3*time.Second, map[string]uint8{"a": 30, "b": 26})
	if len(changes) != 0 {
		t.Fatalf("b a little louder: changes %v, want none", changes)
	}
	// A single loud burst from b is not enough either.
	_, changes = speak(d, now, 300*time.Millisecond, map[string]uint8{"a": 30, "b": 0})
	if len(changes) != 0 {
		t.Fatalf("b's burst: changes %v, want none", changes)
	}
	now, changes = speak(d, now, 2*time.Second, map[string]uint8{"a": 60, "b": 20})
	if len(changes) != 1 || changes[0] != "b" {
		t.Fatalf("b clearly louder: changes %v, want [b]", changes)
	}
	d.forget("b")
	_, changes = speak(d, now, 2*time.Second, map[string]uint8{"a": 60})
	if len(changes) != 1 || changes[0] != "a" {
		t.Fatalf("after b left: changes %v, want [a]", changes)
	}
}
