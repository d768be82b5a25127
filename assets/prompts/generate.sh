#!/bin/sh
# Regenerates the SIP gateway's spoken prompts (16 kHz mono 16-bit WAV)
# from the texts below with espeak-ng and sox (apt install espeak-ng sox).
# The WAV files are committed: building Parley does not need either tool.
set -eu
cd "$(dirname "$0")"
say() {
	espeak-ng -v en-us -s 150 -w /tmp/parley-prompt.wav "$2"
	sox /tmp/parley-prompt.wav -r 16000 -c 1 -b 16 "$1.wav" norm -3 pad 0 0.3
}
say welcome "Welcome to Parley. Please enter the conference number, then press the hash key."
say pin "Please enter the conference PIN, then press the hash key."
say not-found "There is no conference with that number."
say wrong-pin "That PIN is not right."
say lobby "Please wait. A moderator will let you in."
say entering "You are now entering the conference."
say refused "A moderator did not let you in."
say locked "This conference is locked."
say ended "This conference has ended."
say not-started "This conference has not started yet."
say full "This conference is full."
say unavailable "The conference cannot be joined by phone right now."
say goodbye "Goodbye."
rm -f /tmp/parley-prompt.wav
