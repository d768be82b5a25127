package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/server/certs/certstest"
)

// nginxConfig is Parley behind nginx under a path prefix, as docs/deploy.md
// shows it: TLS, WebSocket upgrade, X-Forwarded-* headers, and the
// upstream's certificate checked against Parley's own CA.
const nginxConfig = `# Written by Parley's tests (app/testenv/nginx.go).
worker_processes 1;
error_log stderr info;
pid {{dir}}/nginx.pid;
events {}
http {
    access_log {{dir}}/access.log;
    client_body_temp_path {{dir}}/body;
    proxy_temp_path {{dir}}/proxy;
    fastcgi_temp_path {{dir}}/fastcgi;
    uwsgi_temp_path {{dir}}/uwsgi;
    scgi_temp_path {{dir}}/scgi;

    map $http_upgrade $connection_upgrade {
        default upgrade;
        ''      close;
    }

    server {
{{listen}}
        ssl_certificate     {{dir}}/proxy.crt;
        ssl_certificate_key {{dir}}/proxy.key;

        location = {{prefix}} { return 301 {{prefix}}/; }
        location {{prefix}}/ {
            # The trailing slash strips the prefix: Parley sees /c/123.
            proxy_pass https://127.0.0.1:{{upstream}}/;
            proxy_ssl_trusted_certificate {{ca}};
            proxy_ssl_verify on;
            proxy_ssl_name localhost;
            proxy_ssl_server_name on;

            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $http_host;
            proxy_set_header X-Forwarded-Prefix {{prefix}};
            proxy_read_timeout 1h;
            proxy_buffering off;
        }
    }
}
`

// Nginx is a reverse proxy in front of a Parley server.
type Nginx struct {
	Port   int
	daemon *daemon
}

// Output is what nginx logged so far.
func (n *Nginx) Output() string { return n.daemon.output.String() }

// StartNginx runs nginx over TLS (a throwaway certificate) on addresses
// (IPs of this machine) and one free port, publishing the Parley server
// s under prefix ("/parley"). It stops when the test ends.
func StartNginx(t testing.TB, s *Server, prefix string, addresses ...string) *Nginx {
	t.Helper()
	RequireTool(t, "nginx", "nginx")
	dir := t.TempDir()
	if err := writeSelfSigned(t, dir, addresses); err != nil {
		t.Fatalf("a certificate for nginx: %v", err)
	}
	port := freeUDPAndTCPPort(t)
	listen := ""
	for _, addr := range addresses {
		listen += "        listen " + net.JoinHostPort(addr, strconv.Itoa(port)) + " ssl;\n"
	}
	config := nginxConfig
	for key, value := range map[string]string{
		"{{dir}}": dir, "{{listen}}": listen, "{{prefix}}": prefix, "{{upstream}}": strconv.Itoa(s.Port),
		"{{ca}}": filepath.Join(s.DataDir, "tls", "ca.crt"),
	} {
		config = strings.ReplaceAll(config, key, value)
	}
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(context.Background(), "nginx", "-p", dir, "-c", path, "-g", "daemon off;")
	d, err := startDaemon(t, "nginx", cmd)
	if err != nil {
		t.Fatalf("start nginx: %v", err)
	}
	n := &Nginx{Port: port, daemon: d}
	deadline := time.Now().Add(15 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", net.JoinHostPort(addresses[0], strconv.Itoa(port)), time.Second)
		if err == nil {
			conn.Close()
			return n
		}
		select {
		case <-d.exited:
			t.Fatalf("nginx exited: %v\nnginx printed:\n%s", d.cmd.ProcessState, n.Output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx does not listen after 15 s\nnginx printed:\n%s", n.Output())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// writeSelfSigned writes proxy.crt and proxy.key for the addresses.
func writeSelfSigned(t testing.TB, dir string, addresses []string) error {
	cert := certstest.SelfSigned(t, append([]string{"localhost"}, addresses...)...)
	if err := os.WriteFile(filepath.Join(dir, "proxy.crt"), cert.CertPEM, 0o644); err != nil {
		return fmt.Errorf("write the certificate: %w", err)
	}
	return os.WriteFile(filepath.Join(dir, "proxy.key"), cert.KeyPEM, 0o600)
}
