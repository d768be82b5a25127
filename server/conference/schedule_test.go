package conference

import (
	"testing"
	"time"
)

func TestOneOffScheduleOpensBeforeAndCloses(t *testing.T) {
	start := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	s := Schedule{Start: start, Duration: time.Hour, Location: time.UTC, JoinBefore: 10 * time.Minute}
	cases := []struct {
		now        time.Time
		open, more bool
	}{
		{start.Add(-11 * time.Minute), false, true},
		{start.Add(-10 * time.Minute), true, true},
		{start.Add(59 * time.Minute), true, true},
		{start.Add(time.Hour), false, false},
	}
	for _, c := range cases {
		_, open, more := s.WindowAt(c.now)
		if open != c.open || more != c.more {
			t.Errorf("at %v: open %v more %v", c.now, open, more)
		}
	}
}

func TestWeeklyScheduleFollowsTheTimeZone(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	days, _ := ParseWeekdays([]string{"mon", "WED"})
	// First occurrence Monday 2 March 2026, 09:00 in Paris (08:00 UTC).
	s := Schedule{Start: time.Date(2026, 3, 2, 9, 0, 0, 0, paris), Duration: 30 * time.Minute, Location: paris,
		Weekdays: days, JoinBefore: 5 * time.Minute}

	// Tuesday: the next occurrence is Wednesday 09:00 Paris.
	w, open, ok := s.WindowAt(time.Date(2026, 3, 3, 12, 0, 0, 0, time.UTC))
	if !ok || open || !w.Start.Equal(time.Date(2026, 3, 4, 9, 0, 0, 0, paris)) {
		t.Errorf("Tuesday: %v open %v ok %v", w, open, ok)
	}
	// After the switch to summer time (29 March) 09:00 Paris is 07:00 UTC.
	w, open, ok = s.WindowAt(time.Date(2026, 3, 30, 6, 57, 0, 0, time.UTC))
	if !ok || !open || !w.Start.Equal(time.Date(2026, 3, 30, 7, 0, 0, 0, time.UTC)) {
		t.Errorf("summer Monday: %v open %v ok %v", w, open, ok)
	}
	// Before the first date nothing is open.
	if _, open, _ := s.WindowAt(time.Date(2026, 2, 23, 8, 58, 0, 0, paris)); open {
		t.Error("open a week before the first occurrence")
	}
	if _, err := ParseWeekdays([]string{"someday"}); err == nil {
		t.Error("unknown weekday accepted")
	}
	if names := WeekdayNames(days); len(names) != 2 || names[0] != "mon" || names[1] != "wed" {
		t.Errorf("names %v", names)
	}
}
