#!/usr/bin/env python3
"""SQS side by side: messages per second for send, receive and delete, one at a time and
in batches of 10, nubo against moto's server, same boto3 client, same machine.

Run with the bench venv (it has boto3 and moto): bench/.venv/bin/python bench/sqs.py
"""

import argparse
import json
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config

import peers


def client(endpoint):
    cfg = Config(retries={"max_attempts": 1}, max_pool_connections=32)
    return boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test", config=cfg)


def timed(fn, n, threads):
    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as ex:
        list(ex.map(fn, range(n)))
    return time.perf_counter() - start


def run(endpoint, messages, threads):
    sqs = client(endpoint)
    url = sqs.create_queue(QueueName="bench", Attributes={"VisibilityTimeout": "300"})["QueueUrl"]
    out = {}
    out["send_msgs_s"] = messages / timed(lambda i: sqs.send_message(QueueUrl=url, MessageBody=f"message {i}"), messages, threads)
    handles = []

    def receive(_):
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1).get("Messages", [])
        handles.extend(m["ReceiptHandle"] for m in got)

    out["receive_msgs_s"] = messages / timed(receive, messages, threads)
    out["delete_msgs_s"] = len(handles) / timed(lambda i: sqs.delete_message(QueueUrl=url, ReceiptHandle=handles[i]), len(handles), threads)
    batches = messages // 10
    entries = [{"Id": str(j), "MessageBody": f"batched {j}"} for j in range(10)]
    out["send_batch_msgs_s"] = batches * 10 / timed(lambda i: sqs.send_message_batch(QueueUrl=url, Entries=entries), batches, threads)
    got_batches = []

    def receive_batch(_):
        got_batches.append(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []))

    seconds = timed(receive_batch, batches, threads)
    out["receive_batch_msgs_s"] = sum(map(len, got_batches)) / seconds
    got = [b for b in got_batches if b]
    out["delete_batch_msgs_s"] = sum(map(len, got)) / timed(
        lambda i: sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(k), "ReceiptHandle": m["ReceiptHandle"]} for k, m in enumerate(got[i])]),
        len(got), threads)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__)
    peers.add_args(p)
    p.add_argument("--messages", type=int, default=2000)
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    peers.check_args(args)
    results = {}
    for name, make in (("nubo", lambda: peers.nubo(args.nubo)), ("moto", lambda: peers.moto(args.python))):
        s = make()
        try:
            s.wait_ready()
            results[name] = run(s.endpoint, args.messages, args.threads)
        finally:
            s.stop()
    n, m = results["nubo"], results["moto"]
    results["ratio"] = {k: n[k] / m[k] if m[k] else float("inf") for k in n}
    if args.json:
        print(json.dumps(results, indent=2))
        return
    cols = ["send", "receive", "delete", "send_batch", "receive_batch", "delete_batch"]
    print(f"{'msgs/s':8}" + "".join(f"{c:>15}" for c in cols))
    for name in ("nubo", "moto"):
        print(f"{name:8}" + "".join(f"{results[name][c + '_msgs_s']:>15.0f}" for c in cols))
    print(f"{'nubo/moto':8}" + "".join(f"{results['ratio'][c + '_msgs_s']:>14.1f}x" for c in cols))
    print(f"({args.messages} messages, {args.threads} client threads)")


if __name__ == "__main__":
    main()
