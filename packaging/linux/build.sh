#!/bin/sh
# Builds Parley's Linux packages from a built binary:
#   parley_<version>_<arch>.deb        for Debian and Ubuntu
#   parley-<version>-linux-<arch>.tar.xz  to unpack anywhere
# and appends their SHA-256 sums to SHA256SUMS in the output folder.
#
# Usage: packaging/linux/build.sh BINARY VERSION OUTDIR
# Needs dpkg-deb and dpkg-shlibdeps (dpkg-dev), xz and sha256sum.
set -eu

binary=$1
version=$2
out=$3
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

# Debian versions start with a digit: v0.1.0-3-gabc -> 0.1.0+3.gabc.
debversion=$(printf '%s' "$version" | sed -e 's/^v//' -e 's/-\([0-9]*\)-g/+\1.g/' -e 's/-dirty$/+dirty/' -e 's/-/./g')
case "$debversion" in [0-9]*) ;; *) debversion="0.0.0+$debversion" ;; esac
arch=$(dpkg --print-architecture)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"

# The Go modules' notices (the codecs are the system's, with their own).
(cd "$root" && "$root/packaging/licenses.sh" "" "$work/THIRD-PARTY-LICENSES")

# The files both packages hold, under a /usr prefix.
stage() {
	prefix=$1
	install -D -m 0755 "$binary" "$prefix/bin/parley"
	install -D -m 0644 "$root/LICENSE" "$prefix/share/doc/parley/copyright"
	install -D -m 0644 "$work/THIRD-PARTY-LICENSES" "$prefix/share/doc/parley/THIRD-PARTY-LICENSES"
	install -D -m 0644 "$here/parley.desktop" "$prefix/share/applications/parley.desktop"
	install -D -m 0644 "$root/assets/icons/parley.svg" "$prefix/share/icons/hicolor/scalable/apps/parley.svg"
	install -D -m 0644 "$root/assets/icons/parley.png" "$prefix/share/icons/hicolor/256x256/apps/parley.png"
	install -D -m 0644 "$root/README.md" "$prefix/share/doc/parley/README.md"
	install -D -m 0644 "$root/docs/deploy.md" "$prefix/share/doc/parley/deploy.md"
}

# --- .deb
deb="$work/deb"
stage "$deb/usr"
install -D -m 0644 "$here/parley.service" "$deb/lib/systemd/system/parley.service"
mkdir -p "$deb/DEBIAN"
for script in postinst prerm postrm; do
	install -m 0755 "$here/$script" "$deb/DEBIAN/$script"
done

# Depends from the libraries the binary links (dpkg-shlibdeps wants a
# debian/control to read; a minimal one in a scratch folder will do).
mkdir -p "$work/shlibs/debian"
printf 'Source: parley\n\nPackage: parley\nArchitecture: any\n' > "$work/shlibs/debian/control"
depends=$(cd "$work/shlibs" && dpkg-shlibdeps -O -e "$deb/usr/bin/parley" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
if [ -z "$depends" ]; then
	echo "build.sh: dpkg-shlibdeps found no libraries for $binary" >&2
	exit 1
fi
size=$(du -sk "$deb" | cut -f1)
cat > "$deb/DEBIAN/control" <<EOF
Package: parley
Version: $debversion
Architecture: $arch
Maintainer: Parley developers <parley@parleyhq.invalid>
Installed-Size: $size
Depends: $depends, adduser
Section: net
Priority: optional
Homepage: https://github.com/parleyhq/parley
Description: video conferencing for the office, in one program
 Parley is a conferencing server (HTTPS, WebRTC, TURN, SQLite), its admin
 console and a meeting participant in one application. Colleagues on the
 LAN find the host by themselves; guests join from a browser with a link.
 .
 The parley.service unit runs the server without a window, as the parley
 user with its data in /var/lib/parley: systemctl enable --now parley.
EOF
debfile="$out/parley_${debversion}_${arch}.deb"
dpkg-deb --root-owner-group --build "$deb" "$debfile" >/dev/null

# --- .tar.xz
name="parley-$version-linux-$arch"
tree="$work/$name"
stage "$tree"
install -D -m 0644 "$here/parley.service" "$tree/share/parley/parley.service"
tar -C "$work" --owner=0 --group=0 -cJf "$out/$name.tar.xz" "$name"

(cd "$out" && sha256sum "$(basename "$debfile")" "$name.tar.xz") >> "$out/SHA256SUMS"
echo "$debfile"
echo "$out/$name.tar.xz"
