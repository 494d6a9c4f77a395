#!/usr/bin/env bash
# Headless Chromium for scripts/comment-preview.ts, unpacked from Debian's packages into .tools/chromium (no root
# needed) unless it is already there, with the shared libraries a minimal Debian 12 image lacks and an emoji font.
# Not needed by the tests. Prints the path of the chromium binary.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=.tools/chromium
binary=$dir/usr/lib/chromium/chromium
packages=(
  chromium-common fonts-noto-color-emoji
  libasyncns0 libdouble-conversion3 libflac12 libharfbuzz-subset0 libminizip1 libmp3lame0 libmpg123-0 libogg0
  libopenh264-7 libopenjp2-7 libopus0 libpulse0 libsndfile1 libvorbis0a libvorbisenc2 libxnvctrl0
  chromium
)

if [ ! -x "$binary" ]; then
  if ! command -v apt-get >/dev/null || ! command -v dpkg >/dev/null; then
    echo "preview tools: Debian's apt-get and dpkg are needed to unpack chromium; or install chromium" >&2
    exit 1
  fi
  mkdir -p "$dir/debs"
  for package in "${packages[@]}"; do
    (cd "$dir/debs" && apt-get download "$package" >/dev/null 2>&1) || {
      echo "preview tools: 'apt-get download $package' failed; run 'sudo apt-get update' and try again" >&2
      exit 1
    }
    dpkg -x "$dir/debs/${package}"_*.deb "$dir"
    rm -f "$dir/debs/${package}"_*.deb
  done
  rmdir "$dir/debs"
fi

# Fontconfig sees the unpacked emoji font beside the system's fonts.
cat >"$dir/fonts.conf" <<CONF
<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
  <dir>$(pwd)/$dir/usr/share/fonts</dir>
  <cachedir>$(pwd)/$dir/fontcache</cachedir>
</fontconfig>
CONF
echo "$binary"
