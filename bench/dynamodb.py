#!/usr/bin/env python3
"""DynamoDB side by side: PutItem, GetItem and Query operations per second on a table of
100k items, nubo against moto's server and dynalite, same boto3 client, same machine.

Each server gets the same table (partition key `pk`, sort key `sk`: 10k partitions of 10
items), loaded with BatchWriteItem; then timed PutItem of new items, GetItem of random
existing ones, and Query of a random partition (10 items each). Timed calls go through a
thin keep-alive JSON client so that the client is not what is measured; the table is
created and the answers checked through boto3.

Run with the bench venv (bench/setup.sh): bench/.venv/bin/python bench/dynamodb.py
"""

import argparse
import json
import http.client
import random
import threading
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config

import peers


def client(endpoint):
    cfg = Config(retries={"max_attempts": 3}, max_pool_connections=32)
    return boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test", config=cfg)


class Raw:
    """DynamoDB's JSON protocol over keep-alive connections, one per thread: a thin client,
    so the figures measure the servers rather than boto3's per-call overhead. None of the
    servers checks signatures; the header only has to be well formed."""

    def __init__(self, endpoint):
        self.host, self.port = endpoint.split("//", 1)[1].split(":")
        self.local = threading.local()

    def call(self, op, body):
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = http.client.HTTPConnection(self.host, int(self.port), timeout=60)
        date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        headers = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": f"DynamoDB_20120810.{op}", "X-Amz-Date": date,
                   "Authorization": f"AWS4-HMAC-SHA256 Credential=test/{date[:8]}/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=00"}
        conn.request("POST", "/", body=json.dumps(body), headers=headers)
        r = conn.getresponse()
        data = r.read()
        if r.status != 200:
            raise RuntimeError(f"{op}: {r.status} {data[:200]!r}")
        return json.loads(data)


def timed(fn, n, threads):
    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as ex:
        list(ex.map(fn, range(n)))
    return time.perf_counter() - start


def measure(out, name, server, fn, n, threads):
    """Operations per second, and the server's CPU microseconds per operation: the
    client shares the machine, so the second says more about the server than the first."""
    cpu = server.cpu_seconds()
    seconds = timed(fn, n, threads)
    out[f"{name}_ops_s"] = n / seconds
    out[f"{name}_cpu_us"] = (server.cpu_seconds() - cpu) / n * 1e6


def item(p, s):
    return {"pk": {"S": f"user#{p}"}, "sk": {"N": str(s)}, "name": {"S": f"name {p}-{s}"}, "score": {"N": str(p * 10 + s)},
            "tags": {"SS": ["a", "b"]}}


def run(server, items, ops, threads):
    endpoint = server.endpoint
    ddb = client(endpoint)
    ddb.create_table(TableName="bench", BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"}])
    ddb.get_waiter("table_exists").wait(TableName="bench", WaiterConfig={"Delay": 1})
    raw = Raw(endpoint)
    partitions = items // 10
    everything = [(p, s) for p in range(partitions) for s in range(10)]
    batches = [everything[i:i + 25] for i in range(0, len(everything), 25)]
    out = {}
    measure(out, "batch_write_25", server,
            lambda i: raw.call("BatchWriteItem", {"RequestItems": {"bench": [{"PutRequest": {"Item": item(p, s)}} for p, s in batches[i]]}}),
            len(batches), threads)
    print(f"  loaded {len(everything)} items at {out['batch_write_25_ops_s'] * 25:.0f} items/s", file=sys.stderr, flush=True)
    rnd = random.Random(7)
    gets = [rnd.choice(everything) for _ in range(ops)]
    queries = [rnd.randrange(partitions) for _ in range(ops)]
    measure(out, "put_item", server, lambda i: raw.call("PutItem", {"TableName": "bench", "Item": item(partitions + i, 0)}), ops, threads)
    measure(out, "get_item", server,
            lambda i: raw.call("GetItem", {"TableName": "bench", "Key": {"pk": {"S": f"user#{gets[i][0]}"}, "sk": {"N": str(gets[i][1])}}}), ops, threads)

    def query(i):
        got = raw.call("Query", {"TableName": "bench", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": f"user#{queries[i]}"}}})
        assert got["Count"] == 10, got["Count"]

    measure(out, "query", server, query, ops, threads)
    # The answers are the same on every server (checked through boto3, not timed).
    assert ddb.get_item(TableName="bench", Key={"pk": {"S": "user#3"}, "sk": {"N": "4"}})["Item"]["score"] == {"N": "34"}
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__)
    peers.add_args(p)
    p.add_argument("--items", type=int, default=100_000)
    p.add_argument("--ops", type=int, default=2000)
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--json", action="store_true")
    p.add_argument("--peers", default="nubo,moto,dynalite", help="which servers to run, comma-separated")
    args = p.parse_args()
    peers.check_args(args)
    results = {}
    servers = {"nubo": lambda: peers.nubo(args.nubo), "moto": lambda: peers.moto(args.python), "dynalite": peers.dynalite}
    for name in args.peers.split(","):
        s = servers[name]()
        try:
            s.wait_ready()
            results[name] = run(s, args.items, args.ops, args.threads)
            results[name]["rss_mib"] = s.rss_mib()
            print(name, json.dumps(results[name]), file=sys.stderr, flush=True)
        finally:
            s.stop()
    for name in servers:
        results.setdefault(name, {})
    n = results["nubo"]
    for peer in ("moto", "dynalite"):
        # A ratio above 1 is nubo's advantage: more operations per second, fewer CPU µs each.
        results[f"ratio_{peer}"] = {k: (results[peer][k] / n[k] if k.endswith("_cpu_us") else n[k] / results[peer][k])
                                    for k in n if k != "rss_mib" and results[peer].get(k)}
    if args.json:
        print(json.dumps(results, indent=2))
        return
    keys = [k for k in n if k != "rss_mib"]
    print(f"{'':18}{'nubo':>12}{'moto':>12}{'dynalite':>12}{'×moto':>9}{'×dynalite':>11}")
    cell = lambda d, k, w, f: f"{d[k]:{w}{f}}" if k in d else " " * (w - 1) + "-"  # noqa: E731
    for k in keys + ["rss_mib"]:
        print(f"{k:18}{cell(n, k, 12, '.0f')}{cell(results['moto'], k, 12, '.0f')}{cell(results['dynalite'], k, 12, '.0f')}"
              f"{cell(results['ratio_moto'], k, 9, '.1f')}{cell(results['ratio_dynalite'], k, 11, '.1f')}")


if __name__ == "__main__":
    main()
