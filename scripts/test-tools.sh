#!/usr/bin/env bash
# The real tools the test suite runs: Debian's kubectl (package kubernetes-client) and prometheus.
# Each is unpacked from its Debian package into .tools/ (no root needed) unless it is already there;
# prometheus already on PATH is used as it is. Runs before `npm test`; `npm run demo` runs it for prometheus
# alone (`bash scripts/test-tools.sh prometheus`). With no argument, both.
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

unpack() { # package, directory under .tools, binary inside the package
  local package=$1 directory=$2 binary=$3
  [ -x ".tools/$directory$binary" ] && return 0
  if ! command -v apt-get >/dev/null || ! command -v dpkg >/dev/null; then
    echo "test tools: $package is needed at .tools/$directory$binary; install it from Debian's package '$package'" >&2
    return 1
  fi
  mkdir -p .tools
  download "$package"
  dpkg -x .tools/"$package"_*.deb ".tools/$directory"
  rm -f .tools/"$package"_*.deb
}

[ $# -gt 0 ] || set -- kubectl prometheus
for tool in "$@"; do
  case $tool in
    kubectl) unpack kubernetes-client kubectl /usr/bin/kubectl ;;
    prometheus) command -v prometheus >/dev/null || unpack prometheus prometheus /usr/bin/prometheus ;;
    *) echo "test tools: unknown tool '$tool' (kubectl, prometheus)" >&2; exit 2 ;;
  esac
done
