#!/usr/bin/env bash
# Installs the benchmark peers (moto's server) into bench/.venv and builds nubo for release.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
(cd .. && cargo build --release --quiet)
echo "ready: bench/.venv (moto), target/release/nubo"
