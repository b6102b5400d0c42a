#!/usr/bin/env bash
# Renders the committed PNGs from the SVG sources in icons/src (needs rsvg-convert from the
# Debian package librsvg2-bin). The PNGs are committed, so builds never need this script.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
command -v rsvg-convert >/dev/null || { echo "error: rsvg-convert missing (apt-get install librsvg2-bin)" >&2; exit 1; }
for state in in-sync syncing paused offline attention error; do
  rsvg-convert -w 32 -h 32 "src/tray-$state.svg" -o "tray/$state.png"
  rsvg-convert -w 64 -h 64 "src/tray-$state.svg" -o "tray/$state@2x.png"
done
rsvg-convert -w 32 -h 32 src/app.svg -o app/32x32.png
rsvg-convert -w 128 -h 128 src/app.svg -o app/128x128.png
rsvg-convert -w 256 -h 256 src/app.svg -o app/128x128@2x.png
rsvg-convert -w 512 -h 512 src/app.svg -o app/icon.png
