#!/usr/bin/env python3
"""CloudWatch side by side: PutMetricData datapoints per second (1000 data per request, as
SDKs batch them) and GetMetricData latency over the stored points (an hour of one metric,
60-second Average and Maximum; moto answers percentile queries with a 500), nubo against moto's server, same boto3 client, same machine.

Run with the bench venv (it has boto3 and moto): bench/.venv/bin/python bench/cloudwatch.py
"""

import argparse
import datetime
import json
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config

import peers

UTC = datetime.timezone.utc


def client(endpoint):
    cfg = Config(retries={"max_attempts": 1}, max_pool_connections=32)
    return boto3.client("cloudwatch", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test", config=cfg)


def run(endpoint, points, threads, queries):
    cw = client(endpoint)
    start = datetime.datetime.now(UTC).replace(second=0, microsecond=0) - datetime.timedelta(hours=1)
    batches = points // 1000

    def put(b):
        data = [{"MetricName": "Latency", "Dimensions": [{"Name": "Service", "Value": "web"}],
                 "Timestamp": start + datetime.timedelta(seconds=(b * 1000 + i) * 3600 / points), "Value": float((b * 7 + i) % 500)}
                for i in range(1000)]
        cw.put_metric_data(Namespace="Bench", MetricData=data)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(threads) as ex:
        list(ex.map(put, range(batches)))
    put_rate = batches * 1000 / (time.perf_counter() - t0)
    query = [{"Id": "avg", "MetricStat": {"Metric": {"Namespace": "Bench", "MetricName": "Latency",
                                                     "Dimensions": [{"Name": "Service", "Value": "web"}]}, "Period": 60, "Stat": "Average"}},
             {"Id": "max", "MetricStat": {"Metric": {"Namespace": "Bench", "MetricName": "Latency",
                                                     "Dimensions": [{"Name": "Service", "Value": "web"}]}, "Period": 60, "Stat": "Maximum"}}]
    latencies = []
    for _ in range(queries):
        t0 = time.perf_counter()
        out = cw.get_metric_data(MetricDataQueries=query, StartTime=start, EndTime=start + datetime.timedelta(hours=1))
        latencies.append(time.perf_counter() - t0)
    values = len(out["MetricDataResults"][0]["Values"])
    latencies.sort()
    return {"put_points_s": put_rate, "get_metric_data_ms_median": latencies[len(latencies) // 2] * 1000, "periods_returned": values}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    peers.add_args(ap)
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--queries", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    peers.check_args(args)
    results = {}
    for name, start in [("nubo", lambda: peers.nubo(args.nubo)), ("moto", lambda: peers.moto(args.python))]:
        server = start()
        try:
            server.wait_ready()
            results[name] = run(server.endpoint, args.points, args.threads, args.queries)
        finally:
            server.stop()
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{'':8}{'put points/s':>14}{'GetMetricData ms':>18}{'periods':>9}")
    for name, r in results.items():
        print(f"{name:8}{r['put_points_s']:14.0f}{r['get_metric_data_ms_median']:18.1f}{r['periods_returned']:9}")
    n, m = results["nubo"], results["moto"]
    print(f"nubo/moto: put {n['put_points_s'] / m['put_points_s']:.1f}x, GetMetricData {m['get_metric_data_ms_median'] / n['get_metric_data_ms_median']:.1f}x faster")


if __name__ == "__main__":
    main()
