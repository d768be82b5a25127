package conference

import (
	"fmt"
	"strings"
	"time"
)

// Schedule is when a scheduled conference takes place: once at Start for
// Duration, or, with Weekdays, every week on those days at Start's time of
// day in Location, from Start's date on.
type Schedule struct {
	Start      time.Time
	Duration   time.Duration
	Location   *time.Location
	Weekdays   uint8 // bit i = time.Weekday(i)
	JoinBefore time.Duration
}

var weekdayNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// ParseWeekdays reads ["mon","wed"] into a bit set.
func ParseWeekdays(days []string) (uint8, error) {
	var set uint8
	for _, day := range days {
		found := false
		for i, name := range weekdayNames {
			if strings.EqualFold(day, name) {
				set |= 1 << i
				found = true
			}
		}
		if !found {
			return 0, fmt.Errorf("unknown weekday %q: use sun, mon, tue, wed, thu, fri, sat", day)
		}
	}
	return set, nil
}

// WeekdayNames writes a bit set as ["mon","wed"].
func WeekdayNames(set uint8) []string {
	names := []string{}
	for i, name := range weekdayNames {
		if set&(1<<i) != 0 {
			names = append(names, name)
		}
	}
	return names
}

// Window is one occurrence: people may join from Opens; it is planned to
// run from Start to End.
type Window struct {
	Opens, Start, End time.Time
}

// WindowAt returns the occurrence that is open at now, or else the next one
// (ok false when there is none left).
func (s Schedule) WindowAt(now time.Time) (w Window, open bool, ok bool) {
	window := func(start time.Time) Window {
		return Window{Opens: start.Add(-s.JoinBefore), Start: start, End: start.Add(s.Duration)}
	}
	if s.Weekdays == 0 {
		w = window(s.Start)
		if now.Before(w.End) {
			return w, !now.Before(w.Opens), true
		}
		return w, false, false
	}
	first := s.Start.In(s.Location)
	// Walk day by day from the later of the first date and yesterday (an
	// occurrence that started yesterday may still run); two weeks always
	// contain the next occurrence.
	day := now.In(s.Location).AddDate(0, 0, -1)
	if day.Before(first) {
		day = first
	}
	day = time.Date(day.Year(), day.Month(), day.Day(), first.Hour(), first.Minute(), first.Second(), 0, s.Location)
	for i := 0; i < 15; i++ {
		candidate := day.AddDate(0, 0, i)
		if candidate.Before(first) || s.Weekdays&(1<<candidate.Weekday()) == 0 {
			continue
		}
		w = window(candidate)
		if now.Before(w.End) {
			return w, !now.Before(w.Opens), true
		}
	}
	return Window{}, false, false
}
