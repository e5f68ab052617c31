#!/usr/bin/env python3
"""What enforcing IAM costs: SQS SendMessage and S3 GetObject per second as an IAM user
whose policies allow them, on nubo with `--enforce-iam`, on nubo without enforcement, and
on moto's server with its IAM enforcement on (INITIAL_NO_AUTH_ACTION_COUNT), same boto3
client, same machine. Each enforcing server is first checked to really deny an action
the user's policy does not allow.

Run with the bench venv (it has boto3 and moto): bench/.venv/bin/python bench/iam.py
"""

import argparse
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

import peers

# An inline policy for SQS; S3 reads come from the AWS-managed ReadOnlyAccess, the
# largest common policy (~3000 actions), as a read-only user of the seeds would have.
POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["sqs:SendMessage", "sqs:GetQueueUrl"], "Resource": "*"}],
}
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
# Requests the setup makes as root before the user acts: moto lets this many through
# unauthenticated (the readiness probe counts too).
SETUP_REQUESTS = 8


def client(endpoint, service, key="test", secret="test"):
    cfg = Config(retries={"max_attempts": 1}, max_pool_connections=32)
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key,
                        aws_secret_access_key=secret, config=cfg)


def timed(fn, n, threads):
    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as ex:
        list(ex.map(fn, range(n)))
    return time.perf_counter() - start


def setup(endpoint):
    """As root: a queue, a bucket with an object, and a user with POLICY, ReadOnlyAccess and a key."""
    iam = client(endpoint, "iam")
    user = f"bench-{uuid.uuid4().hex[:6]}"
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="bench", PolicyDocument=json.dumps(POLICY))
    iam.attach_user_policy(UserName=user, PolicyArn=READ_ONLY)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    url = client(endpoint, "sqs").create_queue(QueueName="bench-iam")["QueueUrl"]
    s3 = client(endpoint, "s3")
    s3.create_bucket(Bucket="bench-iam")
    s3.put_object(Bucket="bench-iam", Key="k", Body=b"x" * 1024)
    return key["AccessKeyId"], key["SecretAccessKey"], url


def run(endpoint, requests, threads, enforced):
    key, secret, url = setup(endpoint)
    sqs, s3 = client(endpoint, "sqs", key, secret), client(endpoint, "s3", key, secret)
    if enforced:
        try:
            sqs.delete_queue(QueueUrl=url)
            raise SystemExit(f"{endpoint}: the user could delete the queue: IAM is not enforced")
        except ClientError as e:
            assert e.response["ResponseMetadata"]["HTTPStatusCode"] in (400, 403), e.response
    out = {}
    out["sqs_send_s"] = requests / timed(lambda i: sqs.send_message(QueueUrl=url, MessageBody=f"m{i}"), requests, threads)
    out["s3_get_s"] = requests / timed(lambda i: s3.get_object(Bucket="bench-iam", Key="k")["Body"].read(), requests, threads)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    peers.add_args(ap)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    peers.check_args(args)

    results = {}
    servers = [
        ("nubo --enforce-iam", lambda: peers.nubo(args.nubo, "--enforce-iam"), True),
        ("nubo", lambda: peers.nubo(args.nubo), False),
        ("moto (auth on)", lambda: peers.moto(args.python, env={"INITIAL_NO_AUTH_ACTION_COUNT": str(SETUP_REQUESTS), "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}), True),
    ]
    for name, start, enforced in servers:
        server = start()
        try:
            server.wait_ready()
            results[name] = run(server.endpoint, args.requests, args.threads, enforced)
        finally:
            server.stop()
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{'':22}{'SQS send/s':>14}{'S3 GET/s':>14}")
    for name, r in results.items():
        print(f"{name:22}{r['sqs_send_s']:14.0f}{r['s3_get_s']:14.0f}")
    a, m = results["nubo --enforce-iam"], results["moto (auth on)"]
    print(f"enforced nubo / enforced moto: send {a['sqs_send_s'] / m['sqs_send_s']:.1f}x, get {a['s3_get_s'] / m['s3_get_s']:.1f}x")


if __name__ == "__main__":
    main()
