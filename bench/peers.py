"""Starting the servers a benchmark compares: nubo and moto, the same way, on loopback."""

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH_PY = ROOT / "bench" / ".venv" / "bin" / "python"
STS_PROBE = b"Action=GetCallerIdentity&Version=2011-06-15"
# moto routes by the credential scope (unsigned, this POST would be S3's ListBuckets);
# neither server checks the signature itself.
STS_HEADERS = {
    "Content-Type": "application/x-www-form-urlencoded",
    "Authorization": "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=0",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answered(endpoint: str) -> bool:
    """One STS GetCallerIdentity, answered as such: the same request for every server. A
    server that checks signatures refuses the probe's fake one (`IncompleteSignature`,
    `SignatureDoesNotMatch`): answered too."""
    req = urllib.request.Request(endpoint + "/", data=STS_PROBE, headers=STS_HEADERS, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=2) as r:
            return r.status == 200 and b"GetCallerIdentityResponse" in r.read()
    except urllib.error.HTTPError as e:
        return e.code in (400, 403) and b"Signature" in e.read()
    except OSError:
        return False


def listening(endpoint: str) -> bool:
    """Any HTTP answer at all: for peers that serve one service and no STS."""
    try:
        urllib.request.urlopen(endpoint + "/", timeout=2)
        return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


class Server:
    def __init__(self, name, cmd, endpoint=None, env=None, probe=answered):
        self.name = name
        self.probe = probe
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                     env=dict(os.environ, **(env or {})))
        self.endpoint = endpoint

    def wait_ready(self, timeout=60.0) -> float:
        """Seconds from spawning to the first answered request (polling: this is a benchmark)."""
        if self.endpoint is None:  # nubo prints its address first
            line = self.proc.stdout.readline()
            self.endpoint = line.split("listening on ", 1)[1].strip()
        deadline = self.started + timeout
        while not self.probe(self.endpoint):
            if time.perf_counter() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} did not start")
            time.sleep(0.002)
        return time.perf_counter() - self.started

    def cpu_seconds(self) -> float:
        """User + system CPU time the server process has used so far."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mib(self) -> float:
        """Resident memory of the server and its children."""
        pids = [self.proc.pid]
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
            pids += [int(c) for c in children]
        except OSError:
            pass
        total = 0
        for pid in pids:
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except OSError:
                pass
        return total / 1024

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def nubo(binary: str, *extra: str) -> Server:
    return Server("nubo", [binary, "--ephemeral", "--port", "0", "--log", "warn", *extra])


def moto(python: str, env=None) -> Server:
    port = free_port()
    return Server("moto", [python, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], f"http://127.0.0.1:{port}", env=env)


def dynalite() -> Server:
    """dynalite from npm (bench/setup.sh), in memory as nubo's --ephemeral."""
    port = free_port()
    cmd = ["node", str(ROOT / "bench" / "node_modules" / "dynalite" / "cli.js"), "--host", "127.0.0.1", "--port", str(port),
           "--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0"]
    return Server("dynalite", cmd, f"http://127.0.0.1:{port}", probe=listening)


def ministack() -> Server:
    """ministack from PyPI (bench/setup.sh), in its own venv."""
    port = free_port()
    cmd = [str(ROOT / "bench" / ".venv-ministack" / "bin" / "ministack")]
    return Server("ministack", cmd, f"http://127.0.0.1:{port}", env={"GATEWAY_PORT": str(port)}, probe=listening)


def add_args(parser):
    parser.add_argument("--nubo", default=str(ROOT / "target" / "release" / "nubo"), help="nubo binary")
    parser.add_argument("--python", default=str(BENCH_PY), help="interpreter that has moto (bench/setup.sh)")


def check_args(args):
    if not Path(args.nubo).exists():
        sys.exit(f"no nubo binary at {args.nubo}: run bench/setup.sh (or cargo build --release)")
    if not Path(args.python).exists():
        sys.exit(f"no {args.python}: run bench/setup.sh")
