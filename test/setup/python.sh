#!/usr/bin/env bash
# Makes the Python the suites use, idempotently: a virtual environment holding exactly
# test/clients/requirements.txt, from PyPI, under ~/.cache/snaplink (named by the file's hash, so
# changing a pin builds a new one and an unchanged file costs nothing). Prints its interpreter.
set -euo pipefail
cd "$(dirname "$0")/../.."

REQUIREMENTS=test/clients/requirements.txt
PYTHON=${SNAPLINK_TEST_BASE_PYTHON:-python3}
command -v "$PYTHON" >/dev/null || { echo "# python: $PYTHON is not on PATH; install Python 3.10+" >&2; exit 1; }
hash=$(sha256sum "$REQUIREMENTS" | cut -c1-12)
version=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
VENV="${XDG_CACHE_HOME:-$HOME/.cache}/snaplink/python-$version-$hash"

if [ ! -f "$VENV/.complete" ]; then
  echo "# python: installing $REQUIREMENTS into $VENV" >&2
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV" >&2 || { echo "# python: '$PYTHON -m venv' failed (Debian: apt-get install python3-venv)" >&2; exit 1; }
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$REQUIREMENTS" >&2
  "$VENV/bin/python" -m pip check >&2
  touch "$VENV/.complete"
fi
echo "$VENV/bin/python"
