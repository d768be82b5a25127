# Parley's two everyday commands are `make run` and `make test`; both first
# install, on Debian or Ubuntu, the system packages they need.

GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/parleyhq/parley/app.Version=$(VERSION)
BIN     := bin/parley

# Programs the build and the tests use, as command:debian-package. The
# Windows installer is cross-built with mingw-w64 and NSIS, and its test
# installs and runs it under Wine, in a network namespace. The
# desktop window's tests run the app under Xvfb; the discovery tests run
# avahi (a third-party mDNS client) inside network namespaces, never on
# this machine's network, so deps keeps the system's avahi from starting;
# the network tests run coturn as an external TURN server and nginx as a
# reverse proxy, on loopback, so their system services are kept from
# starting too. The SIP gateway's tests call it with SIPp and baresip.
DEB_TOOLS := gcc:gcc curl:curl ip:iproute2 git:git chromium:chromium vpxdec:vpx-tools firefox-esr:firefox-esr \
	pkg-config:pkg-config Xvfb:xvfb ping:iputils-ping sysctl:procps mount:mount \
	avahi-daemon:avahi-daemon avahi-browse:avahi-utils dbus-daemon:dbus turnserver:coturn nft:nftables nginx:nginx \
	dpkg-shlibdeps:dpkg-dev desktop-file-validate:desktop-file-utils debootstrap:debootstrap \
	x86_64-w64-mingw32-gcc:gcc-mingw-w64-x86-64 x86_64-w64-mingw32-g++:g++-mingw-w64-x86-64 \
	x86_64-w64-mingw32-objdump:binutils-mingw-w64-x86-64 nasm:nasm makensis:nsis 7z:p7zip-full \
	osslsigncode:osslsigncode wine:wine sipp:sip-tester baresip:baresip

# Files that show a package is there, as file:debian-package: the headers
# the desktop app is built against (the window, Fyne: OpenGL and X11
# through GLFW; VP8 (libvpx) and Opus for its camera, microphone and the
# media it receives), SpanDSP (the G.722 test compares with it), baresip's
# H.264 module (only recommended by baresip; the video phone tests need
# it), and Wine's 64-bit loader, which has no command.
DEB_HEADERS := /usr/include/GL/gl.h:libgl1-mesa-dev /usr/include/X11/Xlib.h:libx11-dev \
	/usr/include/X11/Xcursor/Xcursor.h:libxcursor-dev /usr/include/X11/extensions/Xrandr.h:libxrandr-dev \
	/usr/include/X11/extensions/Xinerama.h:libxinerama-dev /usr/include/X11/extensions/XInput2.h:libxi-dev \
	/usr/include/X11/extensions/xf86vmode.h:libxxf86vm-dev \
	/usr/include/vpx/vpx_encoder.h:libvpx-dev /usr/include/opus/opus.h:libopus-dev /usr/include/spandsp/g722.h:libspandsp-dev \
	/usr/include/opus/opusfile.h:libopusfile-dev /usr/lib/baresip/modules/avcodec.so:baresip-ffmpeg \
	/usr/lib/wine/wine64:wine64

# Every test has a timeout; the race detector runs on every package (it
# needs gcc, like the desktop window's cgo).
TEST_TIMEOUT ?= 20m
STATICCHECK  := honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZ_TIME    ?= 30s

.PHONY: all deps build run test fmt-check vet lint fuzz bench installers clean

all: build

## deps: install the Debian packages that are missing (uses sudo when not root)
deps:
	@missing=""; \
	for pair in $(DEB_TOOLS); do \
	  command -v "$${pair%%:*}" >/dev/null 2>&1 || missing="$$missing $${pair##*:}"; \
	done; \
	for pair in $(DEB_HEADERS); do \
	  test -e "$${pair%%:*}" || missing="$$missing $${pair##*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if ! command -v apt-get >/dev/null 2>&1; then \
	    echo "Please install:$$missing" >&2; exit 1; \
	  fi; \
	  echo "Installing:$$missing"; \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  guard=""; \
	  case " $$missing " in *" avahi-daemon "*|*" coturn "*|*" nginx "*) \
	    if [ ! -e /usr/sbin/policy-rc.d ]; then \
	      guard=1; printf '#!/bin/sh\ncase "$$1" in avahi-daemon|coturn|nginx) exit 101;; esac\nexit 0\n' | $$sudo tee /usr/sbin/policy-rc.d >/dev/null; \
	      $$sudo chmod 755 /usr/sbin/policy-rc.d; \
	    fi;; \
	  esac; \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing; status=$$?; \
	  if [ -n "$$guard" ]; then \
	    $$sudo rm -f /usr/sbin/policy-rc.d; \
	    if command -v systemctl >/dev/null 2>&1; then \
	      $$sudo systemctl mask avahi-daemon.service avahi-daemon.socket coturn.service nginx.service >/dev/null 2>&1 || true; \
	    fi; \
	    echo "avahi-daemon, coturn and nginx are installed for the tests, which run them only in their own network"; \
	    echo "namespaces or on loopback; their services are kept from starting (systemctl unmask avahi-daemon coturn nginx to undo)."; \
	  fi; \
	  [ "$$status" = 0 ] || exit $$status; \
	fi
	@command -v $(GO) >/dev/null || { echo "Go is needed: https://go.dev/dl/" >&2; exit 1; }

## build: compile bin/parley
build: deps
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./app/cmd/parley

## run: build and start Parley on its embedded defaults
run: build
	./$(BIN)

## bench: the standard benchmark of the media server (a few minutes),
## written to docs/benchmarks.md with its chart and JSON. The 20 s before
## each measurement let the bandwidth estimates grow (8% a second from
## 2 Mbit/s) to what the tiles ask.
bench: build
	LANG=C.UTF-8 ./$(BIN) bench --scenario standard --settle 20s --duration 10s \
		--json docs/benchmarks.json --svg docs/benchmarks.svg --markdown docs/benchmarks.md

## installers: the packages this machine can build, with SHA256SUMS, in dist/:
## the .deb, the portable .tar.xz and the Windows installer (packaging/README.md)
installers: build
	rm -rf dist
	packaging/linux/build.sh $(BIN) $(VERSION) dist
	packaging/windows/build.sh $(VERSION) dist

## test: formatting, vet, staticcheck, and every test (race detector on)
test: deps fmt-check vet lint
	$(GO) test -race -timeout $(TEST_TIMEOUT) ./...

fmt-check:
	@unformatted="$$(gofmt -l $$(find . -name '*.go' -not -path './.git/*'))"; \
	if [ -n "$$unformatted" ]; then echo "gofmt would change:" $$unformatted >&2; exit 1; fi

# Windows code is vetted too: the server without the desktop window needs
# no cgo (the whole app for Windows is built by the packaging tests).
vet:
	$(GO) vet ./...
	GOOS=windows CGO_ENABLED=0 $(GO) vet -tags headless ./app/cmd/parley

# staticcheck finds unused code and common mistakes that vet does not.
lint:
	$(GO) run $(STATICCHECK) ./...

## fuzz: run each fuzz target for FUZZ_TIME (the seeds also run in `make test`)
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZ_TIME) ./server/api
	$(GO) test -run '^$$' -fuzz '^FuzzUpload$$' -fuzztime $(FUZZ_TIME) ./server/certs
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZ_TIME) ./server/protocol
	$(GO) test -run '^$$' -fuzz '^FuzzVP8Descriptor$$' -fuzztime $(FUZZ_TIME) ./media/sfu
	$(GO) test -run '^$$' -fuzz '^FuzzInstancesIn$$' -fuzztime $(FUZZ_TIME) ./discovery
	$(GO) test -run '^$$' -fuzz '^FuzzUnescapeLabel$$' -fuzztime $(FUZZ_TIME) ./discovery
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZ_TIME) ./server/iceservers
	$(GO) test -run '^$$' -fuzz '^FuzzURL$$' -fuzztime $(FUZZ_TIME) ./server/iceservers
	$(GO) test -run '^$$' -fuzz '^FuzzSelfTestRequest$$' -fuzztime $(FUZZ_TIME) ./server/api
	$(GO) test -run '^$$' -fuzz '^FuzzCredentialsCheck$$' -fuzztime $(FUZZ_TIME) ./media/turnserver
	$(GO) test -run '^$$' -fuzz '^FuzzParseMetrics$$' -fuzztime $(FUZZ_TIME) ./server/client
	$(GO) test -run '^$$' -fuzz '^FuzzReadOffer$$' -fuzztime $(FUZZ_TIME) ./server/sip
	$(GO) test -run '^$$' -fuzz '^FuzzDialString$$' -fuzztime $(FUZZ_TIME) ./server/sip
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZ_TIME) ./media/g711
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZ_TIME) ./media/g722
	$(GO) test -run '^$$' -fuzz '^FuzzReadWAV$$' -fuzztime $(FUZZ_TIME) ./media/phone
	$(GO) test -run '^$$' -fuzz '^FuzzTelephoneEvent$$' -fuzztime $(FUZZ_TIME) ./media/phone
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZ_TIME) ./media/h264
	$(GO) test -run '^$$' -fuzz '^FuzzAssemble$$' -fuzztime $(FUZZ_TIME) ./media/h264

clean:
	rm -rf bin dist
