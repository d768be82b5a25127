#!/bin/sh
# Builds the codec libraries the desktop app links, libvpx (VP8 camera
# and decoding) and libopus (microphone and playback), as static libraries
# for a platform whose system has none to offer: Windows (cross-built here
# with mingw-w64) and macOS (on a Mac, for one architecture at a time).
#
# The sources are Debian's (bookworm, with Debian's security patches), so
# the installers ship the same code as the .deb depends on; each file's
# SHA-256 is pinned below.
#
# Usage: packaging/codecs/build.sh TARGET PREFIX
#   TARGET: windows-amd64 | darwin-amd64 | darwin-arm64
#   PREFIX: where include/, lib/ and lib/pkgconfig/ go (PKG_CONFIG_PATH
#           then finds vpx.pc and opus.pc), with the libraries' licenses
#           in share/licenses/. A PREFIX already built by the same recipe
#           is left as it is.
# Sources are kept in ${PARLEY_CACHE:-$HOME/.cache/parley}/sources.
set -eu

target=$1
prefix=$2
cache=${PARLEY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/parley}
jobs=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)

# name  sha256  (the orig tarball, then Debian's changes with its patches)
sources="
libvpx_1.12.0.orig.tar.gz f1acc15d0fd0cb431f4bf6eac32d5e932e40ea1186fe78e074254d6d003957bb
libvpx_1.12.0-1+deb12u5.debian.tar.xz 35cfacecb71f4c4ddfbb29b53b68fb7e82f1e86e28b67327c72683715c5e22f4
opus_1.3.1.orig.tar.gz 65b58e1e25b2a114157014736a3d9dfeaad8d41be1c8179866f144a2fb44ff9d
opus_1.3.1-3.debian.tar.xz f4a145f0d5b9140106396fc0b0c515b1c3abd59f2aa5fb62b36b69886aa411bc
"
# Where Debian keeps them: the archive, its security archive, and, once a
# newer revision has replaced one there, the snapshot archive.
mirrors="https://deb.debian.org/debian/pool/main https://deb.debian.org/debian-security/pool/updates/main https://snapshot.debian.org/archive/debian/20260101T000000Z/pool/main https://snapshot.debian.org/archive/debian-security/20260101T000000Z/pool/updates/main"

case "$target" in
windows-amd64)
	cross=x86_64-w64-mingw32
	host=$cross
	vpx_target=x86_64-win64-gcc
	cc="$cross-gcc"
	;;
darwin-amd64)
	cross=""
	host=x86_64-apple-darwin
	vpx_target=x86_64-darwin20-gcc
	cc="clang -arch x86_64 -mmacosx-version-min=11.0"
	;;
darwin-arm64)
	cross=""
	host=aarch64-apple-darwin
	vpx_target=arm64-darwin20-gcc
	cc="clang -arch arm64 -mmacosx-version-min=11.0"
	;;
*)
	echo "build.sh: unknown target $target (windows-amd64, darwin-amd64 or darwin-arm64)" >&2
	exit 2
	;;
esac

recipe=$( (cat "$0"; echo "$target") | { sha256sum 2>/dev/null || shasum -a 256; } | cut -c1-16)
if [ -f "$prefix/.recipe" ] && [ "$(cat "$prefix/.recipe")" = "$recipe" ]; then
	exit 0
fi

sha256() { { sha256sum "$1" 2>/dev/null || shasum -a 256 "$1"; } | cut -d' ' -f1; }

# fetch NAME SHA256: the file in the cache, downloaded if missing, checked.
fetch() {
	file="$cache/sources/$1"
	if [ ! -f "$file" ] || [ "$(sha256 "$file")" != "$2" ]; then
		mkdir -p "$cache/sources"
		package=${1%%_*}
		case "$package" in lib*) letter=$(printf '%s' "$package" | cut -c1-4) ;; *) letter=$(printf '%s' "$package" | cut -c1) ;; esac
		for mirror in $mirrors; do
			if curl -fsSL --retry 2 -o "$file.part" "$mirror/$letter/$package/$1"; then
				mv "$file.part" "$file"
				break
			fi
		done
		rm -f "$file.part"
		[ -f "$file" ] || { echo "build.sh: could not download $1 from Debian" >&2; exit 1; }
	fi
	if [ "$(sha256 "$file")" != "$2" ]; then
		echo "build.sh: $1 does not have the SHA-256 this script expects" >&2
		exit 1
	fi
}

# quietly CMD...: runs a build step, showing its output only if it fails.
quietly() {
	if ! "$@" > "$work/step.log" 2>&1; then
		tail -n 40 "$work/step.log" >&2
		echo "build.sh: failed: $*" >&2
		exit 1
	fi
}

# unpack ORIG DEBIAN DIR: the sources with Debian's patches applied.
unpack() {
	mkdir -p "$3"
	tar -xzf "$cache/sources/$1" -C "$3" --strip-components=1
	tar -xJf "$cache/sources/$2" -C "$3"
	if [ -f "$3/debian/patches/series" ]; then
		grep -v '^[[:space:]]*\(#\|$\)' "$3/debian/patches/series" | while read -r patch _; do
			patch -d "$3" -p1 -s < "$3/debian/patches/$patch"
		done
	fi
}

echo "$sources" | while read -r name sum; do
	if [ -n "$name" ]; then fetch "$name" "$sum"; fi
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rm -rf "$prefix"
mkdir -p "$prefix/share/licenses"

# libvpx: VP8 and VP9 (mediadevices' encoder package refers to both),
# without its tools, tests and examples.
unpack libvpx_1.12.0.orig.tar.gz libvpx_1.12.0-1+deb12u5.debian.tar.xz "$work/libvpx"
(
	cd "$work/libvpx"
	if [ -n "$cross" ]; then export CROSS="$cross-"; else export CC="$cc" CXX="${cc%% *}++ ${cc#* }"; fi
	quietly ./configure --target="$vpx_target" --prefix="$prefix" --enable-static --disable-shared \
		--disable-examples --disable-tools --disable-docs --disable-unit-tests \
		--disable-install-bins --disable-install-srcs --enable-vp8 --enable-vp9 \
		--enable-runtime-cpu-detect --size-limit=16384x16384
	quietly make -j"$jobs"
	quietly make install
)
if [ -n "$cross" ]; then
	# Its threads are mingw's winpthreads, which a static link must name.
	sed -i 's/^Libs: \(.*\)$/Libs: \1 -lpthread/' "$prefix/lib/pkgconfig/vpx.pc"
fi
cp "$work/libvpx/LICENSE" "$prefix/share/licenses/libvpx-LICENSE"
cp "$work/libvpx/PATENTS" "$prefix/share/licenses/libvpx-PATENTS"

# libopus. Without the stack protector and _FORTIFY_SOURCE, which would
# need libssp on Windows (a _FORTIFY_SOURCE already defined stops its
# configure adding =2).
unpack opus_1.3.1.orig.tar.gz opus_1.3.1-3.debian.tar.xz "$work/opus"
(
	cd "$work/opus"
	export CC="$cc" CFLAGS="-O2 -D_FORTIFY_SOURCE=0"
	quietly ./configure --host="$host" --prefix="$prefix" --enable-static --disable-shared --disable-doc \
		--disable-extra-programs --disable-stack-protector
	quietly make -j"$jobs"
	quietly make install
)
cp "$work/opus/COPYING" "$prefix/share/licenses/opus-COPYING"

echo "$recipe" > "$prefix/.recipe"
echo "$prefix"
