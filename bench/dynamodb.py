#!/usr/bin/env python3
"""DynamoDB side by side: PutItem, GetItem and Query operations per second on a table of
100k items, nubo against moto's server and dynalite, same boto3 client, same machine.

Each server gets the same table (partition key `pk`, sort key `sk`: 10k partitions of 10
items), loaded with BatchWriteItem; then timed PutItem of new items, GetItem of random
existing ones, and Query of a random partition (10 items each).

Run with the bench venv (bench/setup.sh): bench/.venv/bin/python bench/dynamodb.py
"""

import argparse
import json
import random
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config

import peers


def client(endpoint):
    cfg = Config(retries={"max_attempts": 3}, max_pool_connections=32)
    return boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test", config=cfg)


def timed(fn, n, threads):
    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as ex:
        list(ex.map(fn, range(n)))
    return time.perf_counter() - start


def item(p, s):
    return {"pk": {"S": f"user#{p}"}, "sk": {"N": str(s)}, "name": {"S": f"name {p}-{s}"}, "score": {"N": str(p * 10 + s)},
            "tags": {"SS": ["a", "b"]}}


def run(endpoint, items, ops, threads):
    ddb = client(endpoint)
    ddb.create_table(TableName="bench", BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"}])
    ddb.get_waiter("table_exists").wait(TableName="bench", WaiterConfig={"Delay": 1})
    partitions = items // 10
    everything = [(p, s) for p in range(partitions) for s in range(10)]
    batches = [everything[i:i + 25] for i in range(0, len(everything), 25)]
    out = {}
    load = timed(lambda i: ddb.batch_write_item(RequestItems={"bench": [{"PutRequest": {"Item": item(p, s)}} for p, s in batches[i]]}),
                 len(batches), threads)
    out["load_items_s"] = len(everything) / load
    rnd = random.Random(7)
    gets = [rnd.choice(everything) for _ in range(ops)]
    queries = [rnd.randrange(partitions) for _ in range(ops)]
    out["put_item_ops_s"] = ops / timed(lambda i: ddb.put_item(TableName="bench", Item=item(partitions + i, 0)), ops, threads)
    out["get_item_ops_s"] = ops / timed(
        lambda i: ddb.get_item(TableName="bench", Key={"pk": {"S": f"user#{gets[i][0]}"}, "sk": {"N": str(gets[i][1])}}), ops, threads)

    def query(i):
        got = ddb.query(TableName="bench", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": f"user#{queries[i]}"}})
        assert got["Count"] == 10, got["Count"]

    out["query_ops_s"] = ops / timed(query, ops, threads)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__)
    peers.add_args(p)
    p.add_argument("--items", type=int, default=100_000)
    p.add_argument("--ops", type=int, default=2000)
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    peers.check_args(args)
    results = {}
    for name, make in (("nubo", lambda: peers.nubo(args.nubo)), ("moto", lambda: peers.moto(args.python)), ("dynalite", peers.dynalite)):
        s = make()
        try:
            s.wait_ready()
            results[name] = run(s.endpoint, args.items, args.ops, args.threads)
            results[name]["rss_mib"] = s.rss_mib()
        finally:
            s.stop()
    n = results["nubo"]
    for peer in ("moto", "dynalite"):
        results[f"ratio_{peer}"] = {k: n[k] / results[peer][k] for k in n if k != "rss_mib" and results[peer][k]}
    if args.json:
        print(json.dumps(results, indent=2))
        return
    keys = [k for k in n if k != "rss_mib"]
    print(f"{'':18}{'nubo':>12}{'moto':>12}{'dynalite':>12}{'×moto':>9}{'×dynalite':>11}")
    for k in keys:
        print(f"{k:18}{n[k]:12.0f}{results['moto'][k]:12.0f}{results['dynalite'][k]:12.0f}"
              f"{results['ratio_moto'][k]:9.1f}{results['ratio_dynalite'][k]:11.1f}")
    print(f"{'rss_mib':18}{n['rss_mib']:12.0f}{results['moto']['rss_mib']:12.0f}{results['dynalite']['rss_mib']:12.0f}")


if __name__ == "__main__":
    main()
