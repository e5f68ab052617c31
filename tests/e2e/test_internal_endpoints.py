"""nubo's own endpoints: health, reset, clock; and the process lifecycle."""

import json
import os
import signal
import tempfile

from conftest import Nubo


def test_health_lists_services_and_version(nubo):
    status, headers, body = nubo.http("GET", "/_nubo/health")
    assert status == 200
    h = json.loads(body)
    assert h["version"]
    assert h["uptime_seconds"] >= 0
    assert h["services"]["sts"] == "running"
    assert h["services"]["ec2"] == "running"
    assert h["services"]["autoscaling"] == "running" and h["services"]["elbv2"] == "running"
    assert h["services"]["acm"] == "running"


def test_clock_jumps_forward_on_demand(nubo):
    _, _, before = nubo.http("GET", "/_nubo/clock")
    before = json.loads(before)
    status, _, after = nubo.http("POST", "/_nubo/clock", json.dumps({"advance": "1h"}).encode())
    assert status == 200
    after = json.loads(after)
    assert after["epoch_millis"] - before["epoch_millis"] >= 3600 * 1000
    assert after["now"].endswith("Z")


def test_clock_rejects_a_bad_duration(nubo):
    status, _, body = nubo.http("POST", "/_nubo/clock", b'{"advance": "soon"}')
    assert status == 400
    assert "advance" in json.loads(body)["error"]


def test_time_scale_is_reported():
    n = Nubo("--time-scale", "3600")
    try:
        _, _, body = n.http("GET", "/_nubo/clock")
        assert json.loads(body)["scale"] == 3600
    finally:
        n.stop()


def test_reset_answers(nubo):
    status, _, body = nubo.http("POST", "/_nubo/reset")
    assert status == 200
    assert json.loads(body) == {"reset": True}


def test_unknown_internal_endpoint_is_404_json(nubo):
    status, _, body = nubo.http("GET", "/_nubo/nothing-here")
    assert status == 404
    assert "error" in json.loads(body)


def test_sigterm_stops_cleanly_and_data_dir_is_reusable():
    with tempfile.TemporaryDirectory() as d:
        n = Nubo(data_dir=d)
        assert n.http("GET", "/_nubo/health")[0] == 200
        n.proc.send_signal(signal.SIGTERM)
        assert n.proc.wait(10) == 0
        assert os.path.exists(os.path.join(d, "nubo.redb"))
        again = Nubo(data_dir=d)
        try:
            assert again.http("GET", "/_nubo/health")[0] == 200
        finally:
            again.stop()


def test_second_process_on_the_same_data_dir_fails_clearly():
    import subprocess

    from conftest import nubo_binary

    with tempfile.TemporaryDirectory() as d:
        first = Nubo(data_dir=d)
        try:
            p = subprocess.run([nubo_binary(), "--port", "0", "--data-dir", d], capture_output=True, text=True, timeout=30)
            assert p.returncode != 0
            assert "data dir" in p.stderr
        finally:
            first.stop()
