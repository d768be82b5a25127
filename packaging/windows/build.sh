#!/bin/sh
# Builds Parley's Windows installer on Debian, cross-compiling with
# mingw-w64 and packing with NSIS:
#   Parley-Setup-<version>-x64.exe
# and appends its SHA-256 sum to SHA256SUMS in the output folder.
#
# parley.exe links everything it needs statically (libvpx and libopus
# built by packaging/codecs/build.sh, mingw's runtime), so it runs on a
# clean Windows with nothing else installed; it imports Windows' own DLLs
# only.
#
# Signing: with a code-signing certificate, either PARLEY_SIGN_PKCS12 (a
# .pfx or .p12 file) or PARLEY_SIGN_CERT and PARLEY_SIGN_KEY (PEM files),
# and PARLEY_SIGN_PASSWORD if the key has one, parley.exe, the uninstaller
# and the installer are signed with osslsigncode (timestamped when
# PARLEY_SIGN_TIMESTAMP names a timestamp server's URL); without one the
# files are unsigned and the build says so.
#
# Usage: packaging/windows/build.sh VERSION OUTDIR
# Needs Go, x86_64-w64-mingw32-gcc/g++ (gcc-mingw-w64-x86-64,
# g++-mingw-w64-x86-64), nasm, pkg-config, makensis (nsis) and curl;
# osslsigncode to sign.
set -eu

# sign FILE: signs in place when a certificate is configured.
sign() {
	if [ -n "${PARLEY_SIGN_PKCS12:-}" ]; then
		set -- "$1" -pkcs12 "$PARLEY_SIGN_PKCS12"
	elif [ -n "${PARLEY_SIGN_CERT:-}" ]; then
		set -- "$1" -certs "$PARLEY_SIGN_CERT" -key "${PARLEY_SIGN_KEY:?PARLEY_SIGN_CERT needs PARLEY_SIGN_KEY}"
	else
		return 0
	fi
	file=$1
	shift
	[ -z "${PARLEY_SIGN_PASSWORD:-}" ] || set -- "$@" -pass "$PARLEY_SIGN_PASSWORD"
	[ -z "${PARLEY_SIGN_TIMESTAMP:-}" ] || set -- "$@" -ts "$PARLEY_SIGN_TIMESTAMP"
	osslsigncode sign "$@" -h sha256 -n Parley -i https://github.com/parleyhq/parley \
		-in "$file" -out "$file.signed" >/dev/null
	mv "$file.signed" "$file"
}
# NSIS calls back with --sign FILE to sign the uninstaller and installer.
if [ "${1:-}" = "--sign" ]; then
	sign "$2"
	exit 0
fi

version=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${PARLEY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/parley}
mkdir -p "$out"
out=$(cd "$out" && pwd)

# A Windows version has four numbers: v1.2.3-4-gabc -> 1.2.3.4; a
# version that is not a release (a bare commit) is 0.0.0.0.
plain=$(printf '%s' "$version" | sed -e 's/^v//')
version4=$(printf '%s' "$plain" | sed -n 's/^\([0-9]*\)\.\([0-9]*\)\.\([0-9]*\)\(-\([0-9]*\)-g.*\)\{0,1\}.*$/\1.\2.\3.\5/p' | sed 's/\.$/.0/')
[ -n "$version4" ] || version4=0.0.0.0

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
stage="$work/stage"
mkdir -p "$stage"

codecs="$cache/codecs-windows-amd64"
"$root/packaging/codecs/build.sh" windows-amd64 "$codecs" >/dev/null

# The icon, a manifest (DPI awareness, common controls) and the version
# in the file's properties, as a resource object the Go linker takes
# from the package's folder (only while this build runs).
(cd "$root" && go run ./packaging/windows/ico assets/icons/parley.png "$stage/parley.ico")
(cd "$root" && go run github.com/tc-hib/go-winres@v0.3.3 simply --arch amd64 --out "$work/rsrc" \
	--icon "$root/assets/icons/parley.png" --manifest gui --product-name Parley \
	--file-description "Parley video conferencing" --product-version "$version4" --file-version "$version4" \
	--copyright "The Parley developers (MIT License)" --original-filename parley.exe)
syso="$root/app/cmd/parley/rsrc_windows_amd64.syso"
trap 'rm -rf "$work" "$syso"' EXIT
cp "$work/rsrc_windows_amd64.syso" "$syso"

# nolibopusfile: the Opus bindings' Ogg file reader, which Parley does not
# use, would need libopusfile and libogg too.
tags=nolibopusfile
(cd "$root" && CGO_ENABLED=1 GOOS=windows GOARCH=amd64 \
	CC=x86_64-w64-mingw32-gcc CXX=x86_64-w64-mingw32-g++ \
	PKG_CONFIG_PATH="" PKG_CONFIG_LIBDIR="$codecs/lib/pkgconfig" \
	CGO_CFLAGS="-O2 -w" go build -trimpath -tags "$tags" \
	-ldflags "-s -w -H windowsgui '-extldflags=-static -lpthread' -X github.com/parleyhq/parley/app.Version=$version" \
	-o "$stage/parley.exe" ./app/cmd/parley)
sign "$stage/parley.exe"

cp "$root/LICENSE" "$stage/LICENSE.txt"
(cd "$root" && GOOS=windows GOARCH=amd64 CGO_ENABLED=1 "$root/packaging/licenses.sh" "$tags" "$stage/THIRD-PARTY-LICENSES.txt" \
	"$codecs"/share/licenses/* /usr/share/doc/mingw-w64-x86-64-dev/copyright)

installer="Parley-Setup-$plain-x64.exe"
signing=""
if [ -n "${PARLEY_SIGN_PKCS12:-}${PARLEY_SIGN_CERT:-}" ]; then
	signing="-DSIGN=sh $here/build.sh --sign"
else
	echo "build.sh: no code-signing certificate (PARLEY_SIGN_PKCS12, or PARLEY_SIGN_CERT and PARLEY_SIGN_KEY), so the Windows installer and parley.exe are not signed" >&2
fi
makensis -V2 -WX -NOCD -DVERSION="$plain" -DVERSION4="$version4" -DSTAGE="$stage" -DOUTFILE="$out/$installer" \
	${signing:+"$signing"} "$here/parley.nsi" >"$work/makensis.log" 2>&1 || { cat "$work/makensis.log" >&2; exit 1; }

(cd "$out" && sha256sum "$installer") >> "$out/SHA256SUMS"
echo "$out/$installer"
