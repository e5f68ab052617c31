"""End-to-end harness: each pytest worker starts its own nubo on a free port.

Tests talk to it only through real clients (boto3, the AWS CLI) or raw HTTP where the
point is the wire itself. `nubo` is session-scoped per worker; tests that need clean
state call `nubo.reset()`.
"""

import atexit
import copy
import gzip
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

import boto3
import botocore.session
import pytest
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"


def nubo_binary() -> str:
    path = os.environ.get("NUBO_BIN") or str(ROOT / "target" / "debug" / "nubo")
    if not Path(path).exists():
        pytest.exit(f"nubo binary not found at {path}: build it (cargo build) or set NUBO_BIN", 2)
    return path


class _KeepRedirects(urllib.request.HTTPRedirectHandler):
    """Redirects are answers under test, not something to follow."""

    def redirect_request(self, *args, **kwargs):
        return None


_NO_REDIRECTS = urllib.request.build_opener(_KeepRedirects)


class Nubo:
    """A nubo process started for the tests."""

    def __init__(self, *args: str, data_dir: str | None = None):
        cmd = [nubo_binary(), "--port", "0", "--log", "warn", *args]
        if data_dir:
            cmd += ["--data-dir", data_dir]
        else:
            cmd.append("--ephemeral")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=sys.stderr, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("nubo listening on "):
            self.proc.kill()
            raise RuntimeError(f"nubo did not start: {line!r}")
        self.endpoint = line.split("listening on ", 1)[1].strip()

    def http(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        """A raw HTTP call: (status, headers with lower-case names, body). Never raises on 4xx/5xx."""
        req = urllib.request.Request(self.endpoint + path, data=body, method=method, headers=headers or {})
        try:
            with _NO_REDIRECTS.open(req, timeout=30) as r:
                return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
        except urllib.error.HTTPError as e:
            return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()

    def reset(self):
        status, _, _ = self.http("POST", "/_nubo/reset")
        assert status == 200

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="session")
def nubo():
    n = Nubo()
    yield n
    n.stop()


@pytest.fixture(scope="session")
def client_config():
    return Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=30)


@pytest.fixture
def boto(nubo, client_config):
    """`boto("sqs")`: a boto3 client bound to this worker's nubo."""

    def make(service: str, region: str = REGION, **kw):
        return boto3.client(
            service,
            endpoint_url=nubo.endpoint,
            region_name=region,
            aws_access_key_id=kw.pop("access_key", "test"),
            aws_secret_access_key="test",
            config=kw.pop("config", client_config),
            **kw,
        )

    return make


_MODEL_DIRS: dict = {}
_MODEL_ROOT = tempfile.mkdtemp(prefix="nubo-models-")
atexit.register(shutil.rmtree, _MODEL_ROOT, True)


def model_with_protocol(service: str, protocol: str) -> str:
    """A botocore data dir holding `service`'s model rewritten to speak only `protocol`,
    so botocore's own serializer and parser exercise that protocol against nubo."""
    key = (service, protocol)
    if key in _MODEL_DIRS:
        return _MODEL_DIRS[key]
    data = Path(botocore.__file__).parent / "data" / service
    version = sorted(p.name for p in data.iterdir() if p.is_dir())[-1]
    src = data / version / "service-2.json.gz"
    model = json.loads(gzip.open(src).read()) if src.exists() else json.loads((data / version / "service-2.json").read_text())
    model = copy.deepcopy(model)
    if protocol == "query" and model["metadata"]["protocol"] != "query":
        # Query-era models wrapped each output in <OpResult>, as query servers answer.
        for name, op in model["operations"].items():
            if "output" in op:
                op["output"].setdefault("resultWrapper", f"{name}Result")
    model["metadata"]["protocol"] = protocol
    model["metadata"]["protocols"] = [protocol]
    root = str(Path(_MODEL_ROOT) / f"{service}-{protocol}")
    out = Path(root) / service / version
    out.mkdir(parents=True)
    (out / "service-2.json").write_text(json.dumps(model))
    _MODEL_DIRS[key] = root
    return root


@pytest.fixture
def boto_protocol(nubo, client_config):
    """`boto_protocol("cloudwatch", "query")`: a client forced to speak one protocol."""

    def make(service: str, protocol: str):
        session = botocore.session.get_session()
        session.get_component("data_loader").search_paths.insert(0, model_with_protocol(service, protocol))
        return boto3.Session(botocore_session=session).client(
            service,
            endpoint_url=nubo.endpoint,
            region_name=REGION,
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=client_config,
        )

    return make


@pytest.fixture
def aws(nubo):
    """`aws("sqs", "list-queues")`: runs the AWS CLI against nubo, returns parsed JSON output."""
    cli = shutil.which("aws", path=str(Path(sys.executable).parent)) or shutil.which("aws")

    def run(*args: str, check: bool = True, endpoint: bool = True):
        env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION=REGION,
                   AWS_MAX_ATTEMPTS="1", AWS_PAGER="")
        cmd = [cli, *(["--endpoint-url", nubo.endpoint] if endpoint else []), "--output", "json", *args]
        p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
        if check and p.returncode != 0:
            raise AssertionError(f"aws {' '.join(args)} failed ({p.returncode}): {p.stderr}")
        if not check:
            return p
        if not p.stdout.strip():
            return None
        try:
            return json.loads(p.stdout)
        except json.JSONDecodeError:
            return p.stdout  # the high-level `aws s3` commands print text

    return run


def dns_query(server, name, qtype=1):
    """One UDP query to nubo's DNS: (rcode, [addresses])."""
    host, port = server.rsplit(":", 1)
    query = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
    query += b"".join(bytes([len(label)]) + label.encode() for label in name.split(".")) + b"\x00"
    query += qtype.to_bytes(2, "big") + b"\x00\x01"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(3)
        s.sendto(query, (host, int(port)))
        reply, _ = s.recvfrom(512)
    assert reply[:2] == b"\x12\x34"
    answers = int.from_bytes(reply[6:8], "big")
    # Each answer here is a pointer name, type, class, TTL, length 4, the address.
    addresses = [".".join(str(b) for b in reply[len(query) + 16 * i + 12:len(query) + 16 * i + 16]) for i in range(answers)]
    return reply[3] & 0x0F, addresses


def until(what, check, timeout=20.0):
    """Waits for `check` to return something truthy (polling the condition, not a fixed sleep)."""
    import time
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
