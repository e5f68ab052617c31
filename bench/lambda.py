#!/usr/bin/env python3
"""Lambda side by side: cold start and warm invoke latency (p50/p99) and invokes per
second of a Python hello-world, nubo against ministack (the one peer that runs functions
without Docker), same boto3 client, same machine.

Cold starts: each of N fresh functions invoked once. Warm: one function invoked M times
in a row. Throughput: M invokes from 4 threads.

Run with the bench venv (bench/setup.sh): bench/.venv/bin/python bench/lambda.py
"""

import argparse
import io
import json
import statistics
import sys
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config

import peers

CODE = "def handler(event, context):\n    return {'hello': event.get('name', 'world')}\n"


def client(endpoint):
    cfg = Config(retries={"max_attempts": 1}, max_pool_connections=16, read_timeout=120)
    return boto3.client("lambda", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test", config=cfg)


def package():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", CODE)
    return buf.getvalue()


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def run(endpoint, cold, warm):
    lam = client(endpoint)
    zip_bytes = package()

    def create(name):
        lam.create_function(FunctionName=name, Runtime="python3.12", Role="arn:aws:iam::000000000000:role/bench", Handler="app.handler",
                            Code={"ZipFile": zip_bytes}, Timeout=30)

    def invoke(name):
        started = time.perf_counter()
        out = lam.invoke(FunctionName=name, Payload=b'{"name": "bench"}')
        body = out["Payload"].read()
        assert json.loads(body) == {"hello": "bench"}, body
        return (time.perf_counter() - started) * 1000

    cold_ms = []
    for i in range(cold):
        create(f"cold-{i}")
        cold_ms.append(invoke(f"cold-{i}"))
    create("warm")
    invoke("warm")
    warm_ms = [invoke("warm") for _ in range(warm)]
    started = time.perf_counter()
    with ThreadPoolExecutor(4) as ex:
        list(ex.map(lambda _: invoke("warm"), range(warm)))
    rate = warm / (time.perf_counter() - started)
    return {
        "cold_p50_ms": statistics.median(cold_ms), "cold_p99_ms": percentile(cold_ms, 99),
        "warm_p50_ms": statistics.median(warm_ms), "warm_p99_ms": percentile(warm_ms, 99),
        "invokes_s": rate,
    }


def main():
    p = argparse.ArgumentParser(description=__doc__)
    peers.add_args(p)
    p.add_argument("--cold", type=int, default=20)
    p.add_argument("--warm", type=int, default=300)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    peers.check_args(args)
    results = {}
    for name, make in (("nubo", lambda: peers.nubo(args.nubo)), ("ministack", peers.ministack)):
        s = make()
        try:
            s.wait_ready()
            results[name] = run(s.endpoint, args.cold, args.warm)
            results[name]["rss_mib"] = s.rss_mib()
            print(name, json.dumps(results[name]), file=sys.stderr, flush=True)
        finally:
            s.stop()
    n, m = results["nubo"], results["ministack"]
    # Above 1 is nubo's advantage: lower latency, more invokes per second.
    results["ratio"] = {k: (n[k] / m[k] if k == "invokes_s" else m[k] / n[k]) for k in n if k != "rss_mib" and m.get(k)}
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{'':14}{'nubo':>10}{'ministack':>11}{'ratio':>8}")
    for k in n:
        if k == "rss_mib":
            continue
        print(f"{k:14}{n[k]:10.1f}{m[k]:11.1f}{results['ratio'][k]:8.1f}")


if __name__ == "__main__":
    main()
