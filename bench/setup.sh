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
# nginx and wrk (Debian's) for bench/elb.py: the reverse proxy to compare with, and the load.
if ! command -v nginx >/dev/null || ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get install -y -qq nginx-light wrk >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get install -y -qq nginx-light wrk >/dev/null; }
  else
    echo "bench/elb.py needs nginx and wrk (apt-get install nginx-light wrk)" >&2
  fi
fi
(cd .. && cargo build --release --quiet)
echo "ready: bench/.venv (moto), bench/node_modules (dynalite), target/release/nubo"
