package discovery

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestInstanceNameNumbersAndFits(t *testing.T) {
	if got := instanceName("Office", 1); got != "Office" {
		t.Errorf("first attempt = %q", got)
	}
	if got := instanceName("Office", 2); got != "Office (2)" {
		t.Errorf("second attempt = %q", got)
	}
	long := strings.Repeat("é", 31) + "x" // 63 bytes
	for _, attempt := range []int{1, 2, 12} {
		got := instanceName(long, attempt)
		if len(got) > maxLabel || !utf8.ValidString(got) {
			t.Errorf("attempt %d: %q is %d bytes or cut inside a character", attempt, got, len(got))
		}
	}
	if got := instanceName(long, 12); !strings.HasSuffix(got, " (12)") {
		t.Errorf("the number was cut: %q", got)
	}
}

func TestAnnouncementText(t *testing.T) {
	ann := Announcement{Name: "Office", Port: 8443, ServerID: "abc", Guests: true, CertSHA: "11", CASHA: "22"}
	values := parseText(ann.text())
	want := map[string]string{keyID: "abc", keyVersion: ProtocolVersion, keyPath: "/", keyGuests: "1", keyCert: "11", keyCA: "22"}
	for key, value := range want {
		if values[key] != value {
			t.Errorf("TXT %s = %q, want %q", key, values[key], value)
		}
	}
	if len(values) != len(want) {
		t.Errorf("TXT has %d keys, want %d: %v", len(values), len(want), values)
	}
	if got := parseText([]string{"novalue", "k=v=w"}); got["k"] != "v=w" || len(got) != 1 {
		t.Errorf("parseText = %v", got)
	}
}
