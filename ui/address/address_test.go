package address

import (
	"strings"
	"testing"
)

func TestParseServer(t *testing.T) {
	good := []struct {
		input string
		want  Target
	}{
		{"office-pc", Target{Host: "office-pc", Port: 8443}},
		{"  Office-PC:9443 ", Target{Host: "office-pc", Port: 9443}},
		{"192.168.1.20:8444", Target{Host: "192.168.1.20", Port: 8444}},
		{"[fd00::1]:8443", Target{Host: "fd00::1", Port: 8443}},
		{"https://meet.example.com/", Target{Host: "meet.example.com", Port: 8443}},
		{"https://192.168.1.20:8443/c/4820117735", Target{Host: "192.168.1.20", Port: 8443, CID: "4820117735"}},
		{"https://192.168.1.20:8443/c/Team_Room-1/", Target{Host: "192.168.1.20", Port: 8443, CID: "Team_Room-1"}},
		{"parley://office-pc:8443/c/4820117735", Target{Host: "office-pc", Port: 8443, CID: "4820117735"}},
		{"parley://office-pc", Target{Host: "office-pc", Port: 8443}},
		{"office-pc:8443/c/4820117735", Target{Host: "office-pc", Port: 8443, CID: "4820117735"}},
	}
	for _, tc := range good {
		got, err := ParseServer(tc.input)
		if err != nil || got != tc.want {
			t.Errorf("ParseServer(%q) = %+v, %v; want %+v", tc.input, got, err, tc.want)
		}
	}
	if got := (Target{Host: "fd00::1", Port: 8443}).BaseURL(); got != "https://[fd00::1]:8443/" {
		t.Errorf("BaseURL = %q", got)
	}

	bad := []struct{ input, says string }{
		{"", "type the server's address"},
		{"office pc", "no spaces"},
		{"http://office-pc:8080/", "use https://"},
		{"ftp://office-pc/", "not a Parley address"},
		{"office-pc:", "port after ':' is missing"},
		{"office-pc:99999", "from 1 to 65535"},
		{"office-pc:http", "not an address"},
		{"https://anna:secret@office-pc/", "no user name"},
		{"https://office-pc/c/123?pin=4711", "no ? or # part"},
		{"https://office-pc/setup/abc", "not a meeting link"},
		{"https://office-pc/c/not*an*id", "not a meeting ID"},
		{"office_pc!", "not a server name"},
		{"https:///c/123", "no server name"},
	}
	for _, tc := range bad {
		_, err := ParseServer(tc.input)
		if err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("ParseServer(%q) = %v; want an error saying %q", tc.input, err, tc.says)
		}
	}
}

func TestParseMeeting(t *testing.T) {
	if got, err := ParseMeeting(" 4820117735 "); err != nil || got != (Target{CID: "4820117735"}) {
		t.Errorf("bare ID: %+v %v", got, err)
	}
	if got, err := ParseMeeting("https://office-pc:8444/c/weekly"); err != nil || got.CID != "weekly" || got.Port != 8444 {
		t.Errorf("link: %+v %v", got, err)
	}
	for input, says := range map[string]string{
		"":                         "type a meeting ID",
		"not an id!":               "not a meeting ID",
		"https://office-pc:8443/":  "names a server but no meeting",
		"http://office-pc/c/12345": "use https://",
	} {
		if _, err := ParseMeeting(input); err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("ParseMeeting(%q) = %v; want %q", input, err, says)
		}
	}
}
