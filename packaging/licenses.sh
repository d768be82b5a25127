#!/bin/sh
# Writes the notices of everything a build of parley holds: the Go
# standard library, every Go module the build links, OpenH264 when the
# build links it (statically, from github.com/pion/mediadevices), and any
# further license files given (the codec libraries a build links
# statically).
# Run with the GOOS, GOARCH and build tags of the build it describes; it
# fails when a module has no license file, so nothing ships without one.
#
# Usage: packaging/licenses.sh TAGS OUTFILE [LICENSE_FILE...]
set -eu

tags=$1
out=$2
shift 2
root=$(cd "$(dirname "$0")/.." && pwd)

modules=$(cd "$root" && go list -deps -tags "$tags" \
	-f '{{with .Module}}{{if not .Main}}{{.Path}} {{.Version}} {{.Dir}}{{end}}{{end}}' ./app/cmd/parley | sort -u)
openh264=$(cd "$root" && go list -deps -tags "$tags" ./app/cmd/parley | grep -x github.com/pion/mediadevices/pkg/codec/openh264 || true)

{
	echo "Parley contains the following software, under the licenses below."
	echo
	echo "=== Go (the standard library and runtime), $(go env GOVERSION)"
	echo
	cat "$(go env GOROOT)/LICENSE"
	echo "$modules" | while read -r path version dir; do
		[ -n "$path" ] || continue
		found=""
		for file in "$dir"/LICENSE* "$dir"/LICENCE* "$dir"/COPYING* "$dir"/NOTICE* "$dir"/license* "$dir"/UNLICENSE*; do
			[ -f "$file" ] || continue
			found=1
			echo
			echo "=== $path $version ($(basename "$file"))"
			echo
			cat "$file"
		done
		if [ -z "$found" ]; then
			echo "licenses.sh: $path $version has no license file in $dir" >&2
			exit 1
		fi
	done
	if [ -n "$openh264" ]; then
		echo
		echo "=== OpenH264 2.1.1 (linked statically from github.com/pion/mediadevices)"
		echo
		cat "$root/media/h264/include/openh264/LICENSE"
	fi
	for file in "$@"; do
		echo
		echo "=== $(basename "$file")"
		echo
		cat "$file"
	done
} > "$out"
