package packaging

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/app/testenv"
)

// windowsSystemDLLs are the DLLs every Windows 10 and later has: the only
// ones parley.exe may import, so that it runs on a clean Windows.
var windowsSystemDLLs = map[string]bool{
	"advapi32.dll": true, "bcrypt.dll": true, "comctl32.dll": true, "comdlg32.dll": true, "crypt32.dll": true,
	"d3d11.dll": true, "dwmapi.dll": true, "dxgi.dll": true, "gdi32.dll": true, "imm32.dll": true, "iphlpapi.dll": true,
	"kernel32.dll": true, "mfplat.dll": true, "mfreadwrite.dll": true, "msvcrt.dll": true, "ntdll.dll": true,
	"ole32.dll": true, "oleaut32.dll": true, "opengl32.dll": true, "quartz.dll": true, "secur32.dll": true,
	"setupapi.dll": true, "shell32.dll": true, "shlwapi.dll": true, "user32.dll": true, "userenv.dll": true,
	"uxtheme.dll": true, "version.dll": true, "winmm.dll": true, "ws2_32.dll": true,
}

const windowsTestVersion = "v1.2.3-4-gabcdef0"

var (
	windowsOnce      sync.Once
	windowsOut       string // the build's output folder, removed by TestMain
	windowsInstaller string
	windowsBuildErr  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if windowsOut != "" {
		_ = os.RemoveAll(windowsOut)
	}
	os.Exit(code)
}

// buildWindowsInstaller runs windows/build.sh once per test process (a
// cold build takes minutes: the codecs, then the app for Windows).
func buildWindowsInstaller(t *testing.T) string {
	t.Helper()
	for tool, pkg := range map[string]string{
		"x86_64-w64-mingw32-gcc": "gcc-mingw-w64-x86-64", "x86_64-w64-mingw32-g++": "g++-mingw-w64-x86-64",
		"nasm": "nasm", "pkg-config": "pkg-config", "makensis": "nsis", "curl": "curl",
	} {
		testenv.RequireTool(t, tool, pkg)
	}
	windowsOnce.Do(func() {
		out, err := os.MkdirTemp("", "parley-windows-")
		if err != nil {
			windowsBuildErr = err.Error()
			return
		}
		windowsOut = out
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		defer cancel()
		output, err := exec.CommandContext(ctx, "sh", "windows/build.sh", windowsTestVersion, out).CombinedOutput()
		if err != nil {
			windowsBuildErr = err.Error() + "\n" + tail(output)
			return
		}
		lines := strings.Split(strings.TrimSpace(string(output)), "\n")
		windowsInstaller = lines[len(lines)-1]
	})
	if windowsBuildErr != "" {
		t.Fatalf("windows/build.sh: %s", windowsBuildErr)
	}
	return windowsInstaller
}

// TestWindowsInstaller builds the installer and checks what it holds:
// the app, its license and third-party notices, an uninstaller; and that
// the app imports nothing but Windows' own DLLs.
func TestWindowsInstaller(t *testing.T) {
	installer := buildWindowsInstaller(t)
	if filepath.Base(installer) != "Parley-Setup-1.2.3-4-gabcdef0-x64.exe" {
		t.Errorf("the installer is named %s", filepath.Base(installer))
	}
	sums, err := os.ReadFile(filepath.Join(filepath.Dir(installer), "SHA256SUMS"))
	if err != nil || !strings.Contains(string(sums), filepath.Base(installer)) {
		t.Errorf("SHA256SUMS does not list the installer: %q %v", sums, err)
	}

	sevenZip := testenv.RequireTool(t, "7z", "p7zip-full")
	listing, err := exec.Command(sevenZip, "l", "-slt", installer).Output()
	if err != nil {
		t.Fatalf("7z l: %v", err)
	}
	paths := map[string]bool{}
	for line := range strings.Lines(string(listing)) {
		if path, ok := strings.CutPrefix(strings.TrimSpace(line), "Path = "); ok {
			paths[path] = true
		}
	}
	for _, want := range []string{"parley.exe", "LICENSE.txt", "THIRD-PARTY-LICENSES.txt", "Uninstall Parley.exe"} {
		if !paths[want] {
			t.Errorf("the installer lacks %s: %v", want, paths)
		}
	}

	dir := t.TempDir()
	if out, err := exec.Command(sevenZip, "x", "-o"+dir, installer, "parley.exe", "THIRD-PARTY-LICENSES.txt").CombinedOutput(); err != nil {
		t.Fatalf("7z x: %v\n%s", err, out)
	}
	objdump := testenv.RequireTool(t, "x86_64-w64-mingw32-objdump", "binutils-mingw-w64-x86-64")
	headers, err := exec.Command(objdump, "-p", filepath.Join(dir, "parley.exe")).Output()
	if err != nil {
		t.Fatalf("objdump -p: %v", err)
	}
	if !bytes.Contains(headers, []byte("file format pei-x86-64")) || !regexp.MustCompile(`Subsystem\s+00000002`).Match(headers) {
		t.Errorf("parley.exe is not a 64-bit Windows GUI program:\n%s", headers[:min(len(headers), 1500)])
	}
	var imports []string
	for _, match := range regexp.MustCompile(`DLL Name: (\S+)`).FindAllSubmatch(headers, -1) {
		dll := strings.ToLower(string(match[1]))
		imports = append(imports, dll)
		if !windowsSystemDLLs[dll] {
			t.Errorf("parley.exe imports %s, which a clean Windows does not have", dll)
		}
	}
	if len(imports) == 0 {
		t.Errorf("objdump found no imports in parley.exe:\n%s", headers)
	}
	notices, err := os.ReadFile(filepath.Join(dir, "THIRD-PARTY-LICENSES.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"=== libvpx-LICENSE", "=== opus-COPYING", "=== OpenH264 ", "=== fyne.io/fyne/v2 ", "=== github.com/pion/webrtc/v4 ", "=== Go "} {
		if !bytes.Contains(notices, []byte(want)) {
			t.Errorf("THIRD-PARTY-LICENSES.txt lacks %q", want)
		}
	}
}

// wine runs Windows programs in a Wine prefix of its own, inside a network
// namespace of its own: Windows' view of a clean machine, with nothing
// leaving this computer.
type wine struct {
	t      *testing.T
	ns     *testenv.Namespace
	prefix string
	env    []string
}

func newWine(t *testing.T, ns *testenv.Namespace) *wine {
	t.Helper()
	testenv.RequireTool(t, "wine", "wine wine64")
	testenv.RequireTool(t, "wineserver", "wine wine64")
	w := &wine{t: t, ns: ns, prefix: t.TempDir()}
	// No Mono or Gecko (which Wine would offer to download), no display.
	w.env = append(os.Environ(), "WINEPREFIX="+w.prefix, "WINEDEBUG=-all", "WINEDLLOVERRIDES=mscoree,mshtml=", "DISPLAY=", "WAYLAND_DISPLAY=")
	w.boot("--init")
	t.Cleanup(func() { _ = w.command("wineserver", "--kill").Run() })
	dll := filepath.Join(w.prefix, "drive_c", "windows", "system32", "bcryptprimitives.dll")
	if _, err := os.Stat(dll); os.IsNotExist(err) {
		gcc := testenv.RequireTool(t, "x86_64-w64-mingw32-gcc", "gcc-mingw-w64-x86-64")
		if out, err := exec.Command(gcc, "-shared", "-O2", "-o", dll, "testdata/bcryptprimitives.c", "-ladvapi32").CombinedOutput(); err != nil {
			t.Fatalf("build the bcryptprimitives stand-in: %v\n%s", err, out)
		}
	}
	return w
}

// boot starts the Wine machine, which starts the services set to start
// at boot: first a server that outlives each program, so that services
// keep running between them.
func (w *wine) boot(args ...string) {
	w.t.Helper()
	if err := w.command("wineserver", "--persistent=600").Run(); err != nil {
		w.t.Fatalf("wineserver: %v", err)
	}
	if err := w.command("wineboot", args...).Run(); err != nil {
		w.t.Fatalf("wineboot: %v", err)
	}
}

// restart shuts the Wine machine down and boots it again.
func (w *wine) restart() {
	w.t.Helper()
	if err := w.command("wineserver", "--kill").Run(); err != nil {
		w.t.Fatalf("wineserver --kill: %v", err)
	}
	w.boot()
}

func (w *wine) command(name string, args ...string) *exec.Cmd {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	w.t.Cleanup(cancel)
	cmd := w.ns.Command(ctx, name, args...)
	cmd.Env = w.env
	return cmd
}

// run runs a Windows program to its end and returns its standard output;
// the error has its standard error too. Both go through files, not pipes:
// Wine's own processes (wineserver, services.exe) outlive the program and
// would hold a pipe open.
func (w *wine) run(program string, args ...string) (string, error) {
	w.t.Helper()
	out, errOut := w.outputFile(), w.outputFile()
	cmd := w.command("wine", append([]string{program}, args...)...)
	cmd.Stdout, cmd.Stderr = out, errOut
	err := cmd.Run()
	stdout, _ := os.ReadFile(out.Name())
	if err != nil {
		stderr, _ := os.ReadFile(errOut.Name())
		return string(stdout), fmt.Errorf("%s %v: %w\n%s%s", program, args, err, stdout, stderr)
	}
	return string(stdout), nil
}

// outputFile is a file for a program's output, removed with the test.
func (w *wine) outputFile() *os.File {
	w.t.Helper()
	file, err := os.CreateTemp(w.t.TempDir(), "output")
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { file.Close() })
	return file
}

// must runs a Windows program that has to succeed.
func (w *wine) must(program string, args ...string) string {
	w.t.Helper()
	out, err := w.run(program, args...)
	if err != nil {
		w.t.Fatal(err)
	}
	return out
}

// uninstall runs the uninstaller as Programs and Features does, silently.
// It copies itself away to remove its folder and returns at once, so
// this waits for its Programs and Features entry to go, which it removes
// last.
func (w *wine) uninstall(location, key string, args ...string) {
	w.t.Helper()
	w.must(location+`\Uninstall Parley.exe`, append([]string{"/S"}, args...)...)
	deadline := time.Now().Add(90 * time.Second)
	for {
		if _, ok := w.regValue(key, "DisplayName"); !ok {
			break
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("the uninstaller did not finish within 90 s")
		}
		time.Sleep(time.Second)
	}
	// Then for the uninstaller's copy to end.
	for time.Now().Before(deadline) {
		if _, err := os.Stat(w.path(location + `\Uninstall Parley.exe`)); os.IsNotExist(err) {
			return
		}
		time.Sleep(time.Second)
	}
	w.t.Errorf("the uninstaller left itself in %s", location)
}

// path is where a Windows path (C:\...) is on this machine.
func (w *wine) path(windows string) string {
	rest := strings.TrimPrefix(strings.TrimPrefix(windows, "C:"), "c:")
	return filepath.Join(w.prefix, "drive_c", filepath.FromSlash(strings.ReplaceAll(rest, `\`, "/")))
}

// regValue reads a registry value ("" for the key's default value); ok is
// false when it is not there.
func (w *wine) regValue(key, name string) (string, bool) {
	args, label := []string{"query", key, "/v", name}, name
	if name == "" {
		args, label = []string{"query", key, "/ve"}, "(Default)"
	}
	out, err := w.run("reg", args...)
	if err != nil {
		return "", false
	}
	scanner := bufio.NewScanner(strings.NewReader(out))
	for scanner.Scan() {
		fields := strings.SplitN(strings.TrimSpace(scanner.Text()), "    ", 3)
		if len(fields) == 3 && fields[0] == label {
			return fields[2], true
		}
	}
	return "", false
}

// userFolder is the Windows user's profile folder on this machine.
func (w *wine) userFolder() string {
	matches, _ := filepath.Glob(filepath.Join(w.prefix, "drive_c", "users", "*", "AppData", "Roaming"))
	for _, match := range matches {
		if !strings.Contains(match, filepath.Join("users", "Public")) {
			return filepath.Dir(filepath.Dir(match))
		}
	}
	w.t.Fatalf("no user profile in the Wine prefix %s", w.prefix)
	return ""
}

// TestWindowsInstallerUnderWine installs, runs, upgrades and uninstalls
// Parley on Wine, in both of the installer's modes: for the current user
// (with the app's server run by hand) and for everyone with the Windows
// service. Wine stands in for a clean Windows: a real Windows API with
// nothing installed. Its UDP sockets lack an option Go sets on Windows,
// so there the media and TURN subsystems report an error; the test checks
// what does not need UDP.
func TestWindowsInstallerUnderWine(t *testing.T) {
	installer := buildWindowsInstaller(t)
	ns := testenv.NewNamespace(t, [2]string{"198.18.70.1/24", "198.18.70.5/24"})
	w := newWine(t, ns)
	user := w.userFolder()

	// For the current user: no administrator rights, files under the
	// user's programs folder, links and Programs and Features under HKCU.
	w.must(installer, "/S", "/CurrentUser")
	const uninstallKey = `HKCU\Software\Microsoft\Windows\CurrentVersion\Uninstall\Parley`
	location, ok := w.regValue(uninstallKey, "InstallLocation")
	if !ok {
		t.Fatal("the installer wrote no Programs and Features entry")
	}
	dir := w.path(location)
	if !strings.HasPrefix(dir, filepath.Join(user, "AppData", "Local", "Programs")) {
		t.Errorf("installed for the current user in %s", location)
	}
	for _, file := range []string{"parley.exe", "LICENSE.txt", "THIRD-PARTY-LICENSES.txt", "Uninstall Parley.exe"} {
		if _, err := os.Stat(filepath.Join(dir, file)); err != nil {
			t.Errorf("not installed: %v", err)
		}
	}
	if _, err := os.Stat(filepath.Join(user, "AppData", "Roaming", "Microsoft", "Windows", "Start Menu", "Programs", "Parley.lnk")); err != nil {
		t.Errorf("no Start menu shortcut: %v", err)
	}
	for name, want := range map[string]string{"DisplayName": "Parley", "DisplayVersion": "1.2.3-4-gabcdef0", "Publisher": "Parley developers"} {
		if got, _ := w.regValue(uninstallKey, name); got != want {
			t.Errorf("Programs and Features: %s is %q, want %q", name, got, want)
		}
	}
	if got, _ := w.regValue(`HKCU\Software\Classes\parley\shell\open\command`, ""); !strings.Contains(got, `parley.exe" "%1"`) {
		t.Errorf("parley:// links do not open the app: %q", got)
	}
	exe := location + `\parley.exe`
	if out := w.must(exe, "version"); !strings.HasPrefix(out, "parley "+windowsTestVersion+" (") || !strings.Contains(out, "windows/amd64") {
		t.Errorf("parley version printed %q", out)
	}

	// The installed app serves, its data in the user's AppData.
	port := freePort(t)
	serve := w.command("wine", exe, "serve", "--port", strconv.Itoa(port), "--http-port", "-1", "--no-discovery", "--listen", "198.18.70.5")
	output := w.outputFile()
	serve.Stdout, serve.Stderr = output, output
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(user, "AppData", "Roaming", "Parley")
	status := waitForStatus(t, "https://198.18.70.5:"+strconv.Itoa(port)+"/api/v1/status", "", filepath.Join(data, "tls", "ca.crt"), func() string {
		out, _ := os.ReadFile(output.Name())
		listening, _ := ns.Command(context.Background(), "ss", "-ltn").CombinedOutput()
		return string(out) + "\nlistening in the namespace:\n" + string(listening)
	})
	for _, name := range []string{"store", "tls", "web", "conferences"} {
		if !status.running(name) {
			t.Errorf("under Wine, %s does not run: %+v", name, status)
		}
	}
	if status.Server.Version != windowsTestVersion {
		t.Errorf("the server says it is %q", status.Server.Version)
	}
	_ = serve.Process.Kill()
	_ = serve.Wait()
	if _, err := os.Stat(filepath.Join(data, "parley.db")); err != nil {
		t.Fatalf("the server kept no data: %v", err)
	}

	// Upgrade in place over the running install's files.
	w.must(installer, "/S", "/CurrentUser")
	if again, _ := w.regValue(uninstallKey, "InstallLocation"); again != location {
		t.Errorf("the upgrade moved the app from %s to %s", location, again)
	}

	// Uninstall: the app goes, the data stays.
	w.uninstall(location, uninstallKey, "/CurrentUser")
	if _, err := os.Stat(filepath.Join(dir, "parley.exe")); !os.IsNotExist(err) {
		t.Errorf("the uninstaller left parley.exe: %v", err)
	}
	if _, ok := w.regValue(uninstallKey, "DisplayName"); ok {
		t.Error("the uninstaller left the Programs and Features entry")
	}
	if _, ok := w.regValue(`HKCU\Software\Classes\parley`, "URL Protocol"); ok {
		t.Error("the uninstaller left the parley:// handler")
	}
	if _, err := os.Stat(filepath.Join(data, "parley.db")); err != nil {
		t.Errorf("the uninstaller took the user's data: %v", err)
	}

	// For everyone, with the service: Program Files, HKLM, and a server
	// that starts at boot without anyone signed in, its data in
	// ProgramData. (Wine's service manager starts it at the next boot
	// reliably, not always when the installer asks it to.)
	w.must(installer, "/S", "/AllUsers", "/Service")
	w.restart()
	const machineKey = `HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall\Parley`
	machineLocation, ok := w.regValue(machineKey, "InstallLocation")
	if !ok || !strings.Contains(strings.ToLower(machineLocation), `program files\parley`) {
		t.Fatalf("installed for everyone in %q", machineLocation)
	}
	if path, _ := w.regValue(`HKLM\System\CurrentControlSet\Services\Parley`, "ImagePath"); !strings.Contains(path, `parley.exe" serve --service --data`) {
		t.Errorf("the service runs %q", path)
	}
	serviceData := w.path(`C:\ProgramData\Parley`)
	// Wine lists loopback only among the machine's interfaces, so the
	// service's certificate names 127.0.0.1 and not the namespace's address.
	status = waitForStatus(t, "https://198.18.70.5:8443/api/v1/status", "127.0.0.1", filepath.Join(serviceData, "tls", "ca.crt"), func() string {
		log, _ := os.ReadFile(filepath.Join(serviceData, "parley.log"))
		query, err := w.run("sc", "query", "Parley")
		return fmt.Sprintf("sc query Parley: %s %v\nparley.log:\n%s", query, err, log)
	})
	if !status.running("web") || !status.running("store") {
		t.Errorf("the service's server: %+v", status)
	}
	if log, err := os.ReadFile(filepath.Join(serviceData, "parley.log")); err != nil || !bytes.Contains(log, []byte("is running")) {
		t.Errorf("the service wrote no log: %v %q", err, log)
	}

	// Uninstalled with "Remove my data": the service stops and goes, and
	// with it the service's data and the user's.
	w.uninstall(machineLocation, machineKey, "/AllUsers", "/RemoveData")
	if out, err := w.run("sc", "query", "Parley"); err == nil {
		t.Errorf("the uninstaller left the service:\n%s", out)
	}
	for _, gone := range []string{serviceData, data, filepath.Join(w.path(machineLocation), "parley.exe")} {
		if _, err := os.Stat(gone); !os.IsNotExist(err) {
			t.Errorf("the uninstaller left %s: %v", gone, err)
		}
	}
	conn, err := net.DialTimeout("tcp", "198.18.70.5:8443", time.Second)
	if err == nil {
		conn.Close()
		t.Error("the service's server still answers after the uninstall")
	}
}

// TestWindowsInstallerSigned builds the installer with a code-signing
// certificate (a throwaway one) and checks with osslsigncode that the
// installer and the app in it carry valid signatures from it.
func TestWindowsInstallerSigned(t *testing.T) {
	buildWindowsInstaller(t) // the tools, and a warm build cache
	osslsigncode := testenv.RequireTool(t, "osslsigncode", "osslsigncode")
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "signing.crt"), filepath.Join(dir, "signing.key")
	writeCodeSigningCertificate(t, certFile, keyFile)

	out := filepath.Join(dir, "dist")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "sh", "windows/build.sh", windowsTestVersion, out)
	build.Env = append(os.Environ(), "PARLEY_SIGN_CERT="+certFile, "PARLEY_SIGN_KEY="+keyFile)
	output, err := build.CombinedOutput()
	if err != nil {
		t.Fatalf("windows/build.sh: %v\n%s", err, tail(output))
	}
	if bytes.Contains(output, []byte("not signed")) {
		t.Errorf("with a certificate the build still says it does not sign:\n%s", output)
	}
	installer := strings.TrimSpace(string(output[bytes.LastIndexByte(bytes.TrimSpace(output), '\n')+1:]))
	sevenZip := testenv.RequireTool(t, "7z", "p7zip-full")
	if out, err := exec.Command(sevenZip, "x", "-o"+dir, installer, "parley.exe").CombinedOutput(); err != nil {
		t.Fatalf("7z x: %v\n%s", err, out)
	}
	for _, file := range []string{installer, filepath.Join(dir, "parley.exe")} {
		verify, err := exec.Command(osslsigncode, "verify", "-CAfile", certFile, "-in", file).CombinedOutput()
		if err != nil || !bytes.Contains(verify, []byte("Signature verification: ok")) {
			t.Errorf("%s is not signed by the certificate: %v\n%s", filepath.Base(file), err, verify)
		}
	}
}

// writeCodeSigningCertificate writes a self-signed code-signing
// certificate and its RSA key as PEM files.
func writeCodeSigningCertificate(t *testing.T, certFile, keyFile string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "Parley test signing", Organization: []string{"Parley developers"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
}
