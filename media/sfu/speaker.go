package sfu

import (
	"sync"
	"time"
)

// Active speaker detection from RFC 6464 audio levels. A level is 0 (loudest,
// 0 dBov) to 127 (silence, -127 dBov); loudness is 127 minus the level.
const (
	speakerInterval  = 300 * time.Millisecond // how often loudness is compared
	speakerSmoothing = 0.5                    // weight of the newest interval in a score
	speakerThreshold = 30.0                   // loudness a speaker needs (louder than -97 dBov)
	speakerMargin    = 8.0                    // dB by which a challenger must beat the speaker
	speakerPatience  = 2                      // intervals in a row the challenger must win
)

// speakerDetector finds the loudest participant of a room. Each interval
// averages every participant's loudness (silence when no packet came) into
// a smoothed score; the speaker changes only when someone else has been
// clearly louder for several intervals, so that it does not flap.
type speakerDetector struct {
	mu         sync.Mutex
	levels     map[string]*speakerLevel
	speaker    string
	challenger string
	wins       int
	evaluated  time.Time
}

type speakerLevel struct {
	sum   float64
	count int
	score float64
}

func newSpeakerDetector() *speakerDetector {
	return &speakerDetector{levels: map[string]*speakerLevel{}}
}

// observe records one audio level of a participant. When the speaker
// changes it returns the new speaker and true.
func (d *speakerDetector) observe(participant string, level uint8, now time.Time) (string, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	entry := d.levels[participant]
	if entry == nil {
		entry = &speakerLevel{}
		d.levels[participant] = entry
	}
	entry.sum += 127 - float64(min(level, 127))
	entry.count++
	if d.evaluated.IsZero() {
		d.evaluated = now
	}
	if now.Sub(d.evaluated) < speakerInterval {
		return "", false
	}
	d.evaluated = now
	return d.evaluate()
}

// evaluate closes an interval; d.mu is held.
func (d *speakerDetector) evaluate() (string, bool) {
	loudest, loudestScore := "", 0.0
	for participant, entry := range d.levels {
		mean := 0.0
		if entry.count > 0 {
			mean = entry.sum / float64(entry.count)
		}
		entry.score = (1-speakerSmoothing)*entry.score + speakerSmoothing*mean
		entry.sum, entry.count = 0, 0
		if entry.score > loudestScore {
			loudest, loudestScore = participant, entry.score
		}
	}
	if loudest == "" || loudest == d.speaker || loudestScore < speakerThreshold {
		d.challenger, d.wins = "", 0
		return "", false
	}
	if current := d.levels[d.speaker]; current != nil && loudestScore < current.score+speakerMargin {
		d.challenger, d.wins = "", 0
		return "", false
	}
	if loudest != d.challenger {
		d.challenger, d.wins = loudest, 0
	}
	d.wins++
	if d.wins < speakerPatience {
		return "", false
	}
	d.speaker, d.challenger, d.wins = loudest, "", 0
	return loudest, true
}

// forget drops a participant who left or whose microphone was blocked.
func (d *speakerDetector) forget(participant string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.levels, participant)
	if d.speaker == participant {
		d.speaker = ""
	}
}
