#!/usr/bin/env bash
# Prints the path of a Node.js binary of the given version, fetched once from the npm registry's node-<os>-<arch>
# package into node_modules/.cache/node/ (so CI can run tests on Node 24 without a second toolchain installer).
# Usage: scripts/node-version.sh 24.11.0   →   /…/node_modules/.cache/node/24.11.0/package/bin/node
set -euo pipefail
version="${1:?usage: scripts/node-version.sh VERSION (e.g. 24.11.0)}"
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "not a version: $version" >&2; exit 2; }
case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "no node package for $(uname -m)" >&2; exit 1 ;;
esac
os="$(uname -s | tr '[:upper:]' '[:lower:]')"
cache="$(cd "$(dirname "$0")/.." && pwd)/node_modules/.cache/node/$version"
bin="$cache/package/bin/node"
if [ ! -x "$bin" ]; then
  mkdir -p "$cache"
  tarball="$(cd "$cache" && npm pack --silent "node-$os-$arch@$version")"
  tar -xzf "$cache/$tarball" -C "$cache"
  rm -f "$cache/$tarball"
fi
"$bin" --version >/dev/null
echo "$bin"
