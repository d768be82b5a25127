#!/bin/sh
# Builds Parley for macOS on a Mac: a universal (arm64 and x86_64)
# Parley.app in a disk image with a link to Applications,
#   Parley-<version>-macos-universal.dmg
# and appends its SHA-256 sum to SHA256SUMS in the output folder.
#
# The codecs (libvpx, libopus) are built from Debian's sources for each
# architecture by packaging/codecs/build.sh and linked statically, so the
# app needs nothing from Homebrew at run time. The app is signed ad hoc,
# or with PARLEY_MACOS_IDENTITY (a Developer ID Application identity in
# the keychain) with the hardened runtime; notarizing is left to the
# release process (xcrun notarytool).
#
# Not run in this project's CI (Linux): .github/workflows/release.yml runs
# it on a macOS runner.
#
# Usage: packaging/macos/build.sh VERSION OUTDIR
# Needs Go, Xcode's command line tools (clang, lipo, sips, iconutil,
# codesign, hdiutil), pkg-config, nasm (for x86_64 libvpx) and curl.
set -eu

version=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${PARLEY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/parley}
plain=${version#v}
mkdir -p "$out"
out=$(cd "$out" && pwd)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One build per architecture, then one universal binary.
for arch in arm64 amd64; do
	case "$arch" in arm64) clang_arch=arm64 ;; amd64) clang_arch=x86_64 ;; esac
	codecs="$cache/codecs-darwin-$arch"
	"$root/packaging/codecs/build.sh" "darwin-$arch" "$codecs" >/dev/null
	(cd "$root" && CGO_ENABLED=1 GOOS=darwin GOARCH="$arch" \
		CC="clang -arch $clang_arch -mmacosx-version-min=11.0" CXX="clang++ -arch $clang_arch -mmacosx-version-min=11.0" \
		PKG_CONFIG_PATH="" PKG_CONFIG_LIBDIR="$codecs/lib/pkgconfig" \
		go build -trimpath -tags nolibopusfile \
		-ldflags "-s -w -X github.com/parleyhq/parley/app.Version=$version" \
		-o "$work/parley-$arch" ./app/cmd/parley)
done

app="$work/Parley.app"
mkdir -p "$app/Contents/MacOS" "$app/Contents/Resources"
lipo -create -output "$app/Contents/MacOS/parley" "$work/parley-arm64" "$work/parley-amd64"
sed "s/@VERSION@/$plain/g" "$here/Info.plist" > "$app/Contents/Info.plist"
printf 'APPL????' > "$app/Contents/PkgInfo"

# The icon at every size Finder and the Dock ask for.
iconset="$work/Parley.iconset"
mkdir -p "$iconset"
for size in 16 32 128 256 512; do
	sips -z "$size" "$size" "$root/assets/icons/parley.png" --out "$iconset/icon_${size}x${size}.png" >/dev/null
	double=$((size * 2))
	sips -z "$double" "$double" "$root/assets/icons/parley.png" --out "$iconset/icon_${size}x${size}@2x.png" >/dev/null
done
iconutil -c icns -o "$app/Contents/Resources/Parley.icns" "$iconset"

cp "$root/LICENSE" "$app/Contents/Resources/LICENSE.txt"
(cd "$root" && GOOS=darwin GOARCH=arm64 CGO_ENABLED=1 "$root/packaging/licenses.sh" nolibopusfile \
	"$app/Contents/Resources/THIRD-PARTY-LICENSES.txt" "$cache/codecs-darwin-arm64"/share/licenses/*)

codesign --force --options runtime --entitlements "$here/entitlements.plist" \
	--sign "${PARLEY_MACOS_IDENTITY:--}" "$app"
codesign --verify --strict "$app"

# The disk image: the app and a link to Applications to drag it onto.
root_dir="$work/dmg"
mkdir -p "$root_dir"
cp -R "$app" "$root_dir/"
ln -s /Applications "$root_dir/Applications"
cp "$root/LICENSE" "$root_dir/LICENSE.txt"
dmg="Parley-$plain-macos-universal.dmg"
hdiutil create -volname "Parley $plain" -srcfolder "$root_dir" -fs HFS+ -format UDZO -ov "$out/$dmg" >/dev/null

(cd "$out" && shasum -a 256 "$dmg") >> "$out/SHA256SUMS"
echo "$out/$dmg"
