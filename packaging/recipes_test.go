package packaging

import (
	"encoding/xml"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestScriptsParse checks the shell syntax of every packaging script,
// the macOS ones included, which only a Mac runs.
func TestScriptsParse(t *testing.T) {
	scripts, err := filepath.Glob("*/*.sh")
	if err != nil {
		t.Fatal(err)
	}
	more, _ := filepath.Glob("*.sh")
	scripts = append(scripts, more...)
	if len(scripts) < 4 {
		t.Fatalf("found only %v", scripts)
	}
	for _, script := range append(scripts, "linux/postinst", "linux/prerm", "linux/postrm") {
		if out, err := exec.Command("sh", "-n", script).CombinedOutput(); err != nil {
			t.Errorf("%s: %v\n%s", script, err, out)
		}
	}
}

// TestMacOSPropertyLists checks that the app's Info.plist and
// entitlements are well-formed and say what macOS asks of a conferencing
// app: why it wants the camera, the microphone and the local network, and
// the parley:// scheme.
func TestMacOSPropertyLists(t *testing.T) {
	info := plistKeys(t, "macos/Info.plist")
	for _, key := range []string{"CFBundleIdentifier", "CFBundleExecutable", "CFBundleShortVersionString", "LSMinimumSystemVersion",
		"NSCameraUsageDescription", "NSMicrophoneUsageDescription", "NSLocalNetworkUsageDescription", "NSBonjourServices", "CFBundleURLSchemes"} {
		if !info[key] {
			t.Errorf("Info.plist lacks %s", key)
		}
	}
	data, _ := os.ReadFile("macos/Info.plist")
	for _, want := range []string{"<string>parley</string>", "<string>_parley._tcp</string>", "@VERSION@"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("Info.plist lacks %s", want)
		}
	}
	entitlements := plistKeys(t, "macos/entitlements.plist")
	for _, key := range []string{"com.apple.security.device.camera", "com.apple.security.device.audio-input"} {
		if !entitlements[key] {
			t.Errorf("entitlements.plist lacks %s", key)
		}
	}
}

// plistKeys reads a property list's keys, failing on malformed XML.
func plistKeys(t *testing.T, path string) map[string]bool {
	t.Helper()
	file, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	keys := map[string]bool{}
	decoder := xml.NewDecoder(file)
	inKey := false
	for {
		token, err := decoder.Token()
		if err == io.EOF {
			return keys
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		switch token := token.(type) {
		case xml.StartElement:
			inKey = token.Name.Local == "key"
		case xml.CharData:
			if inKey {
				keys[strings.TrimSpace(string(token))] = true
			}
		case xml.EndElement:
			inKey = false
		}
	}
}

// TestReleaseWorkflow checks that the release workflow parses and has
// its jobs: the Linux and Windows installers, the Windows check, macOS
// and publishing.
func TestReleaseWorkflow(t *testing.T) {
	data, err := os.ReadFile("../.github/workflows/release.yml")
	if err != nil {
		t.Fatal(err)
	}
	var workflow struct {
		Jobs map[string]struct {
			RunsOn string `yaml:"runs-on"`
			Steps  []struct {
				Run string `yaml:"run"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(data, &workflow); err != nil {
		t.Fatalf("release.yml: %v", err)
	}
	for job, want := range map[string]string{"linux": "make installers", "windows": "Parley-Setup-", "macos": "packaging/macos/build.sh", "publish": "sha256sum -c"} {
		var runs []string
		for _, step := range workflow.Jobs[job].Steps {
			runs = append(runs, step.Run)
		}
		if !strings.Contains(strings.Join(runs, "\n"), want) {
			t.Errorf("release.yml's %s job does not run %q", job, want)
		}
	}
}
