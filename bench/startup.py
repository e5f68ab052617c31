#!/usr/bin/env python3
"""Startup time and idle memory of nubo, side by side with moto's standalone server.

A local cloud is started far more often than it is kept running: once per test session,
per CI job, per developer restart. What a user waits for is the time from launching the
process to the first request it answers, and what it costs while it sits there is its
resident memory. This script measures both, for nubo and for moto's server (the usual
Python baseline), with the same request against each, and prints moto/nubo ratios.

1. Startup time to the first answered request. The clock starts just before the server
   process is spawned and stops at the first 200 answer to the probe: an STS
   GetCallerIdentity query POST to `/` (`Action=GetCallerIdentity&Version=2011-06-15`,
   form-encoded, SigV4-signed for `sts` with the `test`/`test` keys), which both servers
   answer. nubo is started as `nubo --ephemeral --port 0 --log warn` and announces its
   port on its first stdout line, so reading that line is inside the clock; moto is
   started as `python -m moto.server -H 127.0.0.1 -p PORT` on a port picked beforehand
   by binding port 0. The probe is polled in a tight loop with a small backoff (a new
   connection per attempt). Each server is started --runs times, after --warmup unrecorded
   starts that fill the page cache (and moto's bytecode cache); the two servers alternate
   so that background load hits both alike. Reported: median and p90 (nearest rank), ms.

2. Idle memory. After the answered probe and --settle seconds of quiet, the RSS of the
   server process (VmRSS in /proc/PID/status), summed over every process it forked, MiB;
   the median over the runs is reported.

Each server runs in its own session (process group); it and anything it forked are
terminated after every start, also when the benchmark fails or is interrupted. Only
127.0.0.1 is contacted. Standard library only (Python 3.11+, Linux for /proc); moto
itself comes from the interpreter given by --python (bench/setup.sh makes bench/.venv).

    bench/setup.sh                                   # once: bench/.venv with moto
    python3 bench/startup.py                         # target/release/nubo, 10 runs
    python3 bench/startup.py --nubo target/debug/nubo --runs 3 --json
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import hmac
import http.client
import json
import math
import os
import re
import selectors
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
DEFAULT_NUBO = REPO_ROOT / "target" / "release" / "nubo"
DEFAULT_PYTHON = BENCH_DIR / ".venv" / "bin" / "python"

HOST = "127.0.0.1"
PROBE_BODY = b"Action=GetCallerIdentity&Version=2011-06-15"
PROBE_ANSWER = b"GetCallerIdentityResponse"  # a 200 without it went to the wrong service
NUBO_ANNOUNCE = re.compile(rb"nubo listening on http://[^\s/]+:(\d+)")
POLL_FIRST_S = 0.0002  # probe backoff: 0.2 ms, doubling, capped at 2 ms
POLL_MAX_S = 0.002


class BenchError(Exception):
    """A server did not start or answer as expected."""


# --- the probe ---------------------------------------------------------------------------


def sigv4_headers(host: str, body: bytes, service: str = "sts", region: str = "us-east-1",
                  access_key: str = "test", secret_key: str = "test") -> dict[str, str]:
    """Headers of a SigV4-signed `POST /` with a form body, as an AWS SDK would send it."""
    amz_date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    headers = {
        "content-type": "application/x-www-form-urlencoded; charset=utf-8",
        "host": host,
        "x-amz-date": amz_date,
    }
    signed = ";".join(sorted(headers))
    canonical = "\n".join([
        "POST", "/", "",
        *(f"{name}:{headers[name]}" for name in sorted(headers)), "",
        signed, hashlib.sha256(body).hexdigest(),
    ])
    scope = f"{day}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + secret_key).encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, "
                                f"SignedHeaders={signed}, Signature={signature}")
    return headers


def probe_once(port: int, headers: dict[str, str], timeout: float) -> tuple[int, bytes] | None:
    """One probe on a fresh connection: (status, body), or None if nothing answered."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("POST", "/", PROBE_BODY, headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    except (OSError, http.client.HTTPException):  # refused, reset, timed out, cut short
        return None
    finally:
        conn.close()


# --- server processes --------------------------------------------------------------------


@dataclass
class Server:
    """How to start one of the two servers."""

    name: str
    argv: list[str]
    env: dict[str, str]
    announces_port: bool  # nubo prints its port; moto is given one

    def command(self) -> tuple[list[str], int | None]:
        """The command line and, if the port is chosen here, the port (outside the clock)."""
        if self.announces_port:
            return self.argv, None
        port = free_port()
        return [*self.argv, "-p", str(port)], port


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def output_tail(log: IO[bytes], limit: int = 2000) -> str:
    log.flush()
    log.seek(0)
    text = log.read().decode(errors="replace").strip()
    return ("\n--- server output (tail) ---\n" + text[-limit:]) if text else ""


def read_announced_port(proc: subprocess.Popen, deadline: float, log: IO[bytes]) -> int:
    """The port on nubo's first stdout line (`nubo listening on http://127.0.0.1:PORT`)."""
    fd = proc.stdout.fileno()
    buf = b""
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while b"\n" not in buf:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise BenchError("nubo printed no address line in time" + output_tail(log))
            if sel.select(remaining):
                chunk = os.read(fd, 4096)
                if not chunk:
                    raise BenchError(f"nubo exited (status {proc.wait()}) before printing its "
                                     "address" + output_tail(log))
                buf += chunk
    line = buf.split(b"\n", 1)[0]
    m = NUBO_ANNOUNCE.search(line)
    if not m:
        raise BenchError(f"unexpected first line from nubo: {line!r}")
    return int(m.group(1))


def wait_answered(name: str, proc: subprocess.Popen, port: int, deadline: float,
                  log: IO[bytes]) -> bytes:
    """Polls the probe until it is answered 200; returns that answer's body."""
    headers = sigv4_headers(f"{HOST}:{port}", PROBE_BODY)
    delay = POLL_FIRST_S
    last_status = None
    while True:
        got = probe_once(port, headers, timeout=max(0.05, deadline - time.perf_counter()))
        if got is not None:
            last_status, body = got
            if last_status == 200:
                return body
        if proc.poll() is not None:
            raise BenchError(f"{name} exited (status {proc.returncode}) before answering"
                             + output_tail(log))
        if time.perf_counter() >= deadline:
            seen = f" (last answer: HTTP {last_status})" if last_status else ""
            raise BenchError(f"{name} did not answer 200 in time{seen}" + output_tail(log))
        time.sleep(delay)
        delay = min(delay * 2, POLL_MAX_S)


def process_tree(root: int) -> list[int]:
    """root and all its descendants, from the parent links in /proc/*/stat."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path("/proc", entry.name, "stat").read_text()
        except OSError:  # exited meanwhile
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])  # after "pid (comm)": state, ppid
        children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, ()))
    return tree


def rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0  # exited, or a zombie (no VmRSS line)


def process_group(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[3])
    except (OSError, ValueError, IndexError):
        return None


def stop(proc: subprocess.Popen) -> None:
    """Terminates the server and everything it forked (its own process group)."""
    pgid = proc.pid  # start_new_session: the server leads its own group
    forked = [p for p in process_tree(proc.pid) if p != proc.pid] if proc.poll() is None else []
    if proc.poll() is None:  # leader not reaped yet, so the group id is still ours
        os.killpg(pgid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(pgid, signal.SIGKILL)
            proc.wait()
    for pid in forked:  # stragglers that outlived the leader, still in its group
        if process_group(pid) == pgid:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


# --- one measurement ---------------------------------------------------------------------


@dataclass
class Sample:
    startup_ms: float
    rss_kib: int
    processes: int


def measure(server: Server, timeout: float, settle: float) -> Sample:
    argv, port = server.command()
    with tempfile.TemporaryFile() as log:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            argv, env=server.env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if port is None else log, stderr=log,
            start_new_session=True, bufsize=0)
        try:
            deadline = t0 + timeout
            if port is None:
                port = read_announced_port(proc, deadline, log)
            body = wait_answered(server.name, proc, port, deadline, log)
            startup_ms = (time.perf_counter() - t0) * 1000
            if PROBE_ANSWER not in body:
                raise BenchError(f"{server.name} answered 200 but not with a GetCallerIdentity "
                                 f"response: {body[:300]!r}")
            time.sleep(settle)
            if proc.poll() is not None:
                raise BenchError(f"{server.name} exited after answering" + output_tail(log))
            pids = process_tree(proc.pid)
            return Sample(startup_ms, sum(rss_kib(p) for p in pids), len(pids))
        finally:
            stop(proc)
            if proc.stdout:
                proc.stdout.close()


# --- setup checks ------------------------------------------------------------------------


def resolve_nubo(arg: str | None) -> Path:
    if arg is None:
        if not DEFAULT_NUBO.is_file():
            sys.exit(f"nubo release binary not found: {DEFAULT_NUBO}\n"
                     f"build it first (in {REPO_ROOT}):  cargo build --release\n"
                     "or point the benchmark at another build:  --nubo PATH")
        return DEFAULT_NUBO
    path = Path(arg).resolve()
    if not (path.is_file() and os.access(path, os.X_OK)):
        sys.exit(f"--nubo {arg}: no executable there")
    return path


def moto_version(python: str) -> str:
    code = "import moto, flask, flask_cors; print(moto.__version__)"
    try:
        out = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=120)
        why = (out.stderr.strip().splitlines() or [f"exit status {out.returncode}"])[-1]
        ok = out.returncode == 0
    except OSError as e:
        why, ok = str(e), False
    if not ok:
        sys.exit(f"--python {python}: moto[server] is not importable ({why})\n"
                 f"set it up with:  {BENCH_DIR / 'setup.sh'}   (creates {DEFAULT_PYTHON})")
    return out.stdout.strip()


def nubo_version(nubo: Path) -> str:
    out = subprocess.run([str(nubo), "--version"], capture_output=True, text=True, timeout=30)
    return out.stdout.strip() or "?"


# --- statistics and report ---------------------------------------------------------------


def p90(xs: list[float]) -> float:
    s = sorted(xs)
    return s[max(0, math.ceil(0.9 * len(s)) - 1)]


@dataclass
class Results:
    samples: dict[str, list[Sample]] = field(default_factory=lambda: {"nubo": [], "moto": []})

    def startup(self, name: str) -> list[float]:
        return [s.startup_ms for s in self.samples[name]]

    def rss_mib(self, name: str) -> list[float]:
        return [s.rss_kib / 1024 for s in self.samples[name]]

    def summary(self) -> dict:
        out = {}
        for name in ("nubo", "moto"):
            st, rss = self.startup(name), self.rss_mib(name)
            out[name] = {
                "startup_ms": {"median": statistics.median(st), "p90": p90(st), "samples": st},
                "idle_rss_mib": {"median": statistics.median(rss), "samples": rss},
                "processes": max(s.processes for s in self.samples[name]),
            }
        n, m = out["nubo"], out["moto"]
        out["ratio_moto_over_nubo"] = {
            "startup_median": m["startup_ms"]["median"] / n["startup_ms"]["median"],
            "startup_p90": m["startup_ms"]["p90"] / n["startup_ms"]["p90"],
            "idle_rss": m["idle_rss_mib"]["median"] / n["idle_rss_mib"]["median"],
        }
        return out


def fmt(value: float, unit: str = "") -> str:
    """Three significant figures at most: 4.1, 81.2, 812."""
    text = f"{value:.0f}" if value >= 100 else f"{value:.1f}"
    return f"{text} {unit}".rstrip() if unit else text


def fmt_ratio(r: float) -> str:
    return f"{fmt(r)}x"


def print_report(summary: dict, meta: dict) -> None:
    n, m, r = summary["nubo"], summary["moto"], summary["ratio_moto_over_nubo"]
    print(f"nubo: {meta['nubo_binary']} ({meta['nubo_version']})")
    if "/debug/" in meta["nubo_binary"]:
        print("      (a debug build: these figures are a smoke test, not nubo's numbers)")
    print(f"moto: moto.server {meta['moto_version']} ({meta['python']})")
    print(f"probe: STS GetCallerIdentity POST /, {meta['runs']} runs each "
          f"(+{meta['warmup']} warm-up), settle {meta['settle_s']} s")
    print()
    rows = [
        ("startup median", fmt(n["startup_ms"]["median"], "ms"),
         fmt(m["startup_ms"]["median"], "ms"), fmt_ratio(r["startup_median"])),
        ("startup p90", fmt(n["startup_ms"]["p90"], "ms"),
         fmt(m["startup_ms"]["p90"], "ms"), fmt_ratio(r["startup_p90"])),
        ("idle RSS", fmt(n["idle_rss_mib"]["median"], "MiB"),
         fmt(m["idle_rss_mib"]["median"], "MiB"), fmt_ratio(r["idle_rss"])),
    ]
    print(f"{'':16}{'nubo':>12}{'moto':>12}{'moto/nubo':>12}")
    for label, a, b, c in rows:
        print(f"{label:16}{a:>12}{b:>12}{c:>12}")
    print()
    print(f"startup: nubo {rows[0][1]}, moto {rows[0][2]} (moto/nubo {rows[0][3]})")
    print(f"idle RSS: nubo {rows[2][1]}, moto {rows[2][2]} ({rows[2][3]})")


# --- main --------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(
        description="Startup time to first answered request and idle RSS: nubo vs moto's server.")
    ap.add_argument("--nubo", metavar="PATH",
                    help=f"nubo binary (default: {DEFAULT_NUBO.relative_to(REPO_ROOT)})")
    ap.add_argument("--python", metavar="PATH", default=str(DEFAULT_PYTHON),
                    help="interpreter with moto[server] installed "
                         f"(default: {DEFAULT_PYTHON.relative_to(REPO_ROOT)}, see bench/setup.sh)")
    ap.add_argument("--runs", type=int, default=10, help="measured starts per server (default 10)")
    ap.add_argument("--warmup", type=int, default=1,
                    help="unrecorded starts per server first (default 1)")
    ap.add_argument("--settle", type=float, default=0.5,
                    help="seconds between the answered probe and the RSS reading (default 0.5)")
    ap.add_argument("--timeout", type=float, default=60,
                    help="seconds one start may take to answer (default 60)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    args = ap.parse_args()
    if args.runs < 1 or args.warmup < 0:
        ap.error("--runs must be at least 1 and --warmup at least 0")

    # A SIGTERM to the benchmark unwinds like Ctrl-C, through every try/finally.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    nubo = resolve_nubo(args.nubo)
    meta = {
        "nubo_binary": str(nubo), "nubo_version": nubo_version(nubo),
        "moto_version": moto_version(args.python), "python": args.python,
        "runs": args.runs, "warmup": args.warmup, "settle_s": args.settle,
        "probe": "POST / Action=GetCallerIdentity&Version=2011-06-15 (SigV4, sts)",
    }
    # NUBO_* variables would override nothing given on the command line but could change
    # the rest (e.g. NUBO_HOST); start both servers from the same clean-enough environment.
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUBO_")}
    servers = [
        Server("nubo", [str(nubo), "--ephemeral", "--port", "0", "--log", "warn"], env, True),
        Server("moto", [args.python, "-m", "moto.server", "-H", HOST], env, False),
    ]

    results = Results()
    total = args.warmup + args.runs
    try:
        for i in range(total):
            order = servers if i % 2 == 0 else servers[::-1]
            got = {s.name: measure(s, args.timeout, args.settle) for s in order}
            recorded = i >= args.warmup
            if recorded:
                for name, sample in got.items():
                    results.samples[name].append(sample)
            label = f"run {i - args.warmup + 1}/{args.runs}" if recorded else "warm-up"
            print(f"{label}: " + ", ".join(
                f"{name} {fmt(got[name].startup_ms, 'ms')} {fmt(got[name].rss_kib / 1024, 'MiB')}"
                for name in ("nubo", "moto")), file=sys.stderr)
    except BenchError as e:
        print(f"benchmark failed: {e}", file=sys.stderr)
        return 1

    summary = results.summary()
    if args.json:
        print(json.dumps({"meta": meta, **summary}, indent=2))
    else:
        print_report(summary, meta)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # the servers were stopped on the way out
        print("interrupted", file=sys.stderr)
        sys.exit(130)
