#!/usr/bin/env python3
"""S3 side by side: small-object PUT and GET throughput (ops/s) and large-object transfer
(MB/s), nubo against moto's server, same boto3 client, same machine.

Run with the bench venv (it has boto3 and moto): bench/.venv/bin/python bench/s3.py
"""

import argparse
import io
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config

import peers


def client(endpoint):
    cfg = Config(retries={"max_attempts": 1}, max_pool_connections=32)
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test", config=cfg)


def rate(n, fn, threads):
    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as ex:
        list(ex.map(fn, range(n)))
    return n / (time.perf_counter() - start)


def run(endpoint, small, large_mib, threads):
    s3 = client(endpoint)
    s3.create_bucket(Bucket="bench")
    body = os.urandom(1024)
    put = rate(small, lambda i: s3.put_object(Bucket="bench", Key=f"small/{i}", Body=body), threads)
    get = rate(small, lambda i: s3.get_object(Bucket="bench", Key=f"small/{i}")["Body"].read(), threads)
    data = os.urandom(large_mib << 20)
    start = time.perf_counter()
    s3.upload_fileobj(io.BytesIO(data), "bench", "large")
    up = large_mib / (time.perf_counter() - start)
    start = time.perf_counter()
    sink = io.BytesIO()
    s3.download_fileobj("bench", "large", sink)
    down = large_mib / (time.perf_counter() - start)
    assert sink.getvalue() == data
    return {"put_ops_s": put, "get_ops_s": get, "upload_mb_s": up, "download_mb_s": down}


def main():
    p = argparse.ArgumentParser(description=__doc__)
    peers.add_args(p)
    p.add_argument("--small", type=int, default=2000, help="number of 1 KiB objects")
    p.add_argument("--large-mib", type=int, default=256)
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    peers.check_args(args)
    results = {}
    for name, make in (("nubo", lambda: peers.nubo(args.nubo)), ("moto", lambda: peers.moto(args.python))):
        s = make()
        try:
            s.wait_ready()
            results[name] = run(s.endpoint, args.small, args.large_mib, args.threads)
        finally:
            s.stop()
    n, m = results["nubo"], results["moto"]
    results["ratio"] = {k: n[k] / m[k] for k in n}
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{'':8}{'PUT 1KiB':>12}{'GET 1KiB':>12}{'upload':>14}{'download':>14}")
    for name in ("nubo", "moto"):
        r = results[name]
        print(f"{name:8}{r['put_ops_s']:>8.0f} op/s{r['get_ops_s']:>8.0f} op/s{r['upload_mb_s']:>9.0f} MB/s{r['download_mb_s']:>9.0f} MB/s")
    r = results["ratio"]
    print(f"nubo/moto: PUT {r['put_ops_s']:.1f}x, GET {r['get_ops_s']:.1f}x, upload {r['upload_mb_s']:.1f}x, download {r['download_mb_s']:.1f}x "
          f"({args.small} objects, {args.large_mib} MiB, {args.threads} client threads)")


if __name__ == "__main__":
    main()
