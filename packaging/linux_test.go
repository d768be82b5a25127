package packaging

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/app/testenv"
)

// buildPackages runs linux/build.sh on the test build of parley.
func buildPackages(t *testing.T) (deb, tarball string) {
	t.Helper()
	for tool, pkg := range map[string]string{"dpkg-deb": "dpkg", "dpkg-shlibdeps": "dpkg-dev", "xz": "xz-utils"} {
		testenv.RequireTool(t, tool, pkg)
	}
	out := t.TempDir()
	build := exec.Command("sh", "linux/build.sh", testenv.Parley(t), "v1.2.3-4-gabcdef0", out)
	output, err := build.CombinedOutput()
	if err != nil {
		t.Fatalf("build.sh: %v\n%s", err, output)
	}
	lines := strings.Fields(string(output))
	if len(lines) != 2 {
		t.Fatalf("build.sh printed %q, want the two packages", output)
	}
	sums, err := os.ReadFile(filepath.Join(out, "SHA256SUMS"))
	if err != nil || !strings.Contains(string(sums), filepath.Base(lines[0])) || !strings.Contains(string(sums), filepath.Base(lines[1])) {
		t.Errorf("SHA256SUMS does not list both packages: %q, %v", sums, err)
	}
	return lines[0], lines[1]
}

// TestLinuxPackages builds the .deb and the .tar.xz and checks what they
// hold and say; the desktop entry and the systemd unit pass their linters.
func TestLinuxPackages(t *testing.T) {
	deb, tarball := buildPackages(t)
	if filepath.Base(deb) != "parley_1.2.3+4.gabcdef0_amd64.deb" && !strings.HasPrefix(filepath.Base(deb), "parley_1.2.3+4.gabcdef0_") {
		t.Errorf("the package is named %s", filepath.Base(deb))
	}
	info, err := exec.Command("dpkg-deb", "--field", deb, "Version", "Depends").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Version: 1.2.3+4.gabcdef0", "libc6", "libvpx", "libopus0", "adduser"} {
		if !strings.Contains(string(info), want) {
			t.Errorf("the control file lacks %q:\n%s", want, info)
		}
	}
	contents, err := exec.Command("dpkg-deb", "--contents", deb).Output()
	if err != nil {
		t.Fatal(err)
	}
	listing, err := exec.Command("tar", "-tJf", tarball).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"./usr/bin/parley", "./usr/share/applications/parley.desktop",
		"./usr/share/icons/hicolor/scalable/apps/parley.svg", "./lib/systemd/system/parley.service",
		"./usr/share/doc/parley/copyright", "./usr/share/doc/parley/THIRD-PARTY-LICENSES"} {
		if !strings.Contains(string(contents), want) {
			t.Errorf("the .deb lacks %s", want)
		}
	}
	for _, want := range []string{"/bin/parley", "/share/applications/parley.desktop", "/share/parley/parley.service", "/share/doc/parley/copyright"} {
		if !strings.Contains(string(listing), want) {
			t.Errorf("the .tar.xz lacks %s", want)
		}
	}

	validate := testenv.RequireTool(t, "desktop-file-validate", "desktop-file-utils")
	if out, err := exec.Command(validate, "linux/parley.desktop").CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("desktop-file-validate: %v\n%s", err, out)
	}
	// systemd-analyze checks that ExecStart's program exists: point it at
	// the built one.
	analyze := testenv.RequireTool(t, "systemd-analyze", "systemd")
	unit, err := os.ReadFile("linux/parley.service")
	if err != nil {
		t.Fatal(err)
	}
	local := filepath.Join(t.TempDir(), "parley.service")
	if err := os.WriteFile(local, []byte(strings.ReplaceAll(string(unit), "/usr/bin/parley", testenv.Parley(t))), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(analyze, "verify", local).CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestDebInstallsAndRemoves installs the .deb into a fresh Debian root
// (debootstrap, with the libraries it depends on), runs `parley version`
// and `parley serve` there as the parley user, asks the server its
// status, removes the package and checks that the server's data stayed.
func TestDebInstallsAndRemoves(t *testing.T) {
	deb, _ := buildPackages(t)
	debootstrap := testenv.RequireTool(t, "debootstrap", "debootstrap")
	if os.Geteuid() != 0 {
		t.Fatal("this test needs root (debootstrap, chroot); run it as root, as CI does")
	}
	root := t.TempDir()
	depends, err := exec.Command("dpkg-deb", "--field", deb, "Depends").Output()
	if err != nil {
		t.Fatal(err)
	}
	var include []string
	for _, dependency := range strings.Split(strings.TrimSpace(string(depends)), ",") {
		include = append(include, strings.Fields(dependency)[0])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	bootstrap := exec.CommandContext(ctx, debootstrap, "--variant=minbase", "--include="+strings.Join(append(include, "curl", "ca-certificates"), ","),
		"bookworm", root, "http://deb.debian.org/debian")
	if out, err := bootstrap.CombinedOutput(); err != nil {
		t.Fatalf("debootstrap: %v\n%s", err, tail(out))
	}
	chroot := func(args ...string) (string, error) {
		out, err := exec.CommandContext(ctx, "chroot", append([]string{root}, args...)...).CombinedOutput()
		return string(out), err
	}
	if err := copyFile(deb, filepath.Join(root, "tmp", "parley.deb")); err != nil {
		t.Fatal(err)
	}
	if out, err := chroot("dpkg", "-i", "/tmp/parley.deb"); err != nil {
		t.Fatalf("dpkg -i: %v\n%s", err, out)
	}
	// Standard output only: under LANG=C Fyne complains on standard error.
	if out, err := exec.CommandContext(ctx, "chroot", root, "parley", "version").Output(); err != nil || !strings.HasPrefix(string(out), "parley ") {
		t.Fatalf("parley version: %v %q", err, out)
	}
	if out, err := chroot("getent", "passwd", "parley"); err != nil || !strings.Contains(out, "/var/lib/parley") {
		t.Fatalf("the package made no parley user: %v %q", err, out)
	}

	// As the service would: the parley user, its data in /var/lib/parley
	// (which systemd makes through StateDirectory).
	if out, err := chroot("install", "-d", "-o", "parley", "-g", "parley", "-m", "0750", "/var/lib/parley"); err != nil {
		t.Fatalf("make /var/lib/parley: %v %s", err, out)
	}
	port := freePort(t)
	serve := exec.CommandContext(ctx, "chroot", "--userspec=parley:parley", root,
		"/usr/bin/parley", "serve", "--data", "/var/lib/parley", "--port", strconv.Itoa(port), "--http-port", "-1",
		"--no-discovery", "--listen", "127.0.0.1")
	var output testenv.OutputBuffer
	serve.Stdout, serve.Stderr = &output, &output
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- serve.Wait() }()
	waitForStatus(t, "https://127.0.0.1:"+strconv.Itoa(port)+"/api/v1/status", "", filepath.Join(root, "var", "lib", "parley", "tls", "ca.crt"), output.String)
	_ = serve.Process.Signal(os.Interrupt)
	select {
	case <-stopped:
	case <-time.After(30 * time.Second):
		_ = serve.Process.Kill()
		t.Fatalf("the installed server did not stop on SIGINT\n%s", output.String())
	}

	if out, err := chroot("dpkg", "-r", "parley"); err != nil {
		t.Fatalf("dpkg -r: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(root, "usr", "bin", "parley")); !os.IsNotExist(err) {
		t.Errorf("dpkg -r left /usr/bin/parley: %v", err)
	}
	entries, err := os.ReadDir(filepath.Join(root, "var", "lib", "parley"))
	if err != nil || len(entries) == 0 {
		t.Errorf("dpkg -r took the server's data in /var/lib/parley: %v %v", entries, err)
	}
}

// serverStatus is the part of /api/v1/status the tests read.
type serverStatus struct {
	Server struct {
		Version string `json:"version"`
	} `json:"server"`
	Subsystems []struct {
		Name  string `json:"name"`
		State string `json:"state"`
	} `json:"subsystems"`
}

// running reports whether a subsystem runs.
func (s serverStatus) running(name string) bool {
	for _, sub := range s.Subsystems {
		if sub.Name == name {
			return sub.State == "running"
		}
	}
	return false
}

// waitForStatus asks an installed server for its status until it
// answers, trusting only the CA it wrote into its data folder (read again
// on each try: it appears once the server has started), for the name in
// the URL or else serverName.
func waitForStatus(t *testing.T, url, serverName, caFile string, output func() string) serverStatus {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		roots := x509.NewCertPool()
		if ca, err := os.ReadFile(caFile); err == nil {
			roots.AppendCertsFromPEM(ca)
		}
		client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: serverName, MinVersion: tls.VersionTLS12}}}
		resp, err := client.Get(url)
		if err == nil {
			var status serverStatus
			err = json.NewDecoder(resp.Body).Decode(&status)
			resp.Body.Close()
			if err == nil && resp.StatusCode == http.StatusOK {
				return status
			}
			err = fmt.Errorf("%s: %v", resp.Status, err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the installed server does not answer %s: %v\n%s", url, err, output())
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, data, 0o644)
}

// tail is the end of a long output.
func tail(out []byte) string {
	if len(out) > 4000 {
		out = out[len(out)-4000:]
	}
	return string(out)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
