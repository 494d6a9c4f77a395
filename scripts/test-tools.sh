#!/usr/bin/env bash
# The real tools the test suite runs: Debian's kubectl (package kubernetes-client), prometheus, and cmark-gfm
# (GitHub's Markdown renderer, for the PR comment as GitHub shows it).
# Each is unpacked from its Debian package into .tools/ (no root needed) unless it is already there;
# prometheus and cmark-gfm already on PATH are used as they are. Runs before `npm test`; `npm run demo` runs it
# for prometheus alone (`bash scripts/test-tools.sh prometheus`). With no argument, all three.
set -euo pipefail
cd "$(dirname "$0")/.."

download() { # package
  (cd .tools && apt-get download "$1" >/dev/null 2>&1) && return 0
  # A fresh machine may have no package lists yet; refreshing them needs root.
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq >/dev/null && (cd .tools && apt-get download "$1" >/dev/null)
  else
    echo "test tools: 'apt-get download $1' failed; run 'sudo apt-get update' and try again" >&2
    return 1
  fi
}

have_debian_tools() { # package
  command -v apt-get >/dev/null && command -v dpkg >/dev/null && return 0
  echo "test tools: $1 is needed; install it from Debian's package '$1'" >&2
  return 1
}

extract() { # package, directory under .tools
  mkdir -p .tools
  download "$1"
  dpkg -x .tools/"$1"_*.deb ".tools/$2"
  rm -f .tools/"$1"_*.deb
}

unpack() { # package, directory under .tools, binary inside the package
  local package=$1 directory=$2 binary=$3
  [ -x ".tools/$directory$binary" ] && return 0
  have_debian_tools "$package"
  extract "$package" "$directory"
}

# cmark-gfm and its two libraries (whose package names carry the version) in one directory; the binary last,
# so an interrupted download is retried.
unpack_cmark() {
  [ -x .tools/cmark-gfm/usr/bin/cmark-gfm ] && return 0
  have_debian_tools cmark-gfm
  local library
  for library in $(apt-cache depends cmark-gfm | awk '/Depends: libcmark-gfm/ { print $2 }'); do
    extract "$library" cmark-gfm
  done
  extract cmark-gfm cmark-gfm
}

[ $# -gt 0 ] || set -- kubectl prometheus cmark-gfm
for tool in "$@"; do
  case $tool in
    kubectl) unpack kubernetes-client kubectl /usr/bin/kubectl ;;
    prometheus) command -v prometheus >/dev/null || unpack prometheus prometheus /usr/bin/prometheus ;;
    cmark-gfm) command -v cmark-gfm >/dev/null || unpack_cmark ;;
    *) echo "test tools: unknown tool '$tool' (kubectl, prometheus, cmark-gfm)" >&2; exit 2 ;;
  esac
done
