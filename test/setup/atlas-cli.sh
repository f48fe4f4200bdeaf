#!/usr/bin/env bash
# Builds the Atlas CLI (`atlas`) from the Go module proxy, once, into
# ~/.cache/snaplink/atlas-cli/<version>/atlas, and prints its path (or the path of
# SNAPLINK_ATLAS_CLI, a binary of your own, without building anything). Its go.mod has replace
# directives, so `go install <pkg>@<version>` refuses it: the module is downloaded and built
# inside its own directory instead. On failure it exits non-zero with the command and its error
# on stderr, which the Atlas CLI suite reports when it skips.
set -euo pipefail

# A binary of your own: SNAPLINK_ATLAS_CLI=/path/to/atlas is used as it is, nothing is built.
if [ -n "${SNAPLINK_ATLAS_CLI:-}" ]; then
  [ -x "$SNAPLINK_ATLAS_CLI" ] || { echo "SNAPLINK_ATLAS_CLI names $SNAPLINK_ATLAS_CLI, which is not an executable file" >&2; exit 1; }
  echo "$SNAPLINK_ATLAS_CLI"
  exit 0
fi

VERSION=${SNAPLINK_ATLAS_CLI_VERSION:-v1.54.0}
MODULE=github.com/mongodb/mongodb-atlas-cli/atlascli
OUT="${XDG_CACHE_HOME:-$HOME/.cache}/snaplink/atlas-cli/$VERSION"

if [ -x "$OUT/atlas" ]; then echo "$OUT/atlas"; exit 0; fi
command -v go >/dev/null || { echo "the Go toolchain (go) is not on PATH" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
go mod init snaplink.local/atlas-cli-build >/dev/null 2>&1
if ! json=$(go mod download -json "$MODULE@$VERSION" 2>&1); then
  error=$(printf '%s' "$json" | sed -n 's/^[[:space:]]*"Error": "\(.*\)",\{0,1\}$/\1/p' | sed 's/\\n/ /g; s/\\t/ /g')
  echo "\`go mod download $MODULE@$VERSION\` failed: ${error:-$json}" >&2
  exit 1
fi
dir=$(printf '%s' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
[ -d "$dir" ] || { echo "go mod download gave no module directory: $json" >&2; exit 1; }

echo "# atlas-cli: building $MODULE@$VERSION" >&2
mkdir -p "$OUT"
cd "$dir"
if ! log=$(GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w -X $MODULE/internal/version.Version=${VERSION#v}" -o "$OUT/atlas.tmp" ./cmd/atlas 2>&1); then
  echo "\`go build ./cmd/atlas\` in $MODULE@$VERSION failed: $log" >&2
  exit 1
fi
mv "$OUT/atlas.tmp" "$OUT/atlas"
echo "$OUT/atlas"
