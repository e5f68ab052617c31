#!/usr/bin/env bash
# Installs the benchmark peers (moto's server into bench/.venv, ministack into
# bench/.venv-ministack, dynalite from npm into bench/node_modules, all pinned) and builds
# nubo for release.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
if [ ! -x .venv-ministack/bin/python ]; then
  python3 -m venv .venv-ministack
fi
.venv-ministack/bin/pip install --quiet --disable-pip-version-check -r requirements-ministack.txt
npm ci --no-audit --no-fund --silent
(cd .. && cargo build --release --quiet)
echo "ready: bench/.venv (moto), bench/node_modules (dynalite), target/release/nubo"
