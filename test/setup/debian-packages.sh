#!/usr/bin/env bash
# Installs, from Debian's archive, the programs some suites drive and the machine may lack:
# the shells whose completion scripts `snaplink completion` prints (zsh, fish), jq for the
# documentation's examples (test/docs.test.ts), and Chromium for the dashboard's browser tests
# (test/dashboard.test.ts, driven by playwright-core; Playwright's own browser download is not
# used). Idempotent: installs only what is missing, so a
# second run costs nothing. Prints the installed programs' names on its last line; on failure
# (not root, no apt-get, no archive) exits non-zero with the reason, and the suites that need
# a missing program skip with it.
set -euo pipefail

PACKAGES=(zsh fish jq chromium)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null || { echo "apt-get is not here, so ${missing[*]} cannot be installed" >&2; exit 1; }
  [ "$(id -u)" = 0 ] || { echo "installing ${missing[*]} needs root (apt-get install ${missing[*]})" >&2; exit 1; }
  echo "# debian-packages: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  # The package lists may be absent or stale on a fresh machine.
  if ! log=$(apt-get install -y -qq --no-install-recommends "${missing[@]}" 2>&1); then
    apt-get update -qq >/dev/null 2>&1 || true
    log=$(apt-get install -y -qq --no-install-recommends "${missing[@]}" 2>&1) || { echo "apt-get install ${missing[*]} failed: $(printf '%s' "$log" | tail -1)" >&2; exit 1; }
  fi
fi
echo "${PACKAGES[*]}"
