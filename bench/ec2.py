#!/usr/bin/env python3
"""EC2 instances: how fast a RunInstances becomes a machine that serves HTTP, and how
many instances per second nubo brings up; RunInstances' API latency side by side with
moto (which stores instances but runs nothing, so it has no "first HTTP 200").

- boot: N times, RunInstances of one instance whose user data starts
  `python3 -m http.server 8080`, then GETs on its public address until the first 200
  (p50/p99 from the call to the 200).
- fleet: one RunInstances with MaxCount=50 (the same user data), until all 50 answer:
  instances per second.
- api: RunInstances of one instance, no user data, N times (p50): nubo vs moto.

Needs root (namespaces). Run with the bench venv (bench/setup.sh): sudo bench/.venv/bin/python bench/ec2.py
"""

import argparse
import json
import statistics
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config

import peers

USER_DATA = "#!/bin/sh\ncd /tmp && exec python3 -m http.server 8080\n"


def client(endpoint):
    cfg = Config(retries={"max_attempts": 1}, max_pool_connections=16)
    return boto3.client("ec2", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test", config=cfg)


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def first_200(url, deadline=30.0):
    end = time.perf_counter() + deadline
    while time.perf_counter() < end:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.002)
    raise RuntimeError(f"{url} never answered")


def web_group(ec2):
    sg = ec2.create_security_group(GroupName=f"bench-{time.time_ns()}", Description="bench")["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    return sg


def image(ec2):
    return ec2.describe_images(Owners=["amazon"], Filters=[{"Name": "name", "Values": ["al2023-ami-*-x86_64"]}])["Images"][0]["ImageId"]


def boot(endpoint, runs):
    ec2 = client(endpoint)
    sg, ami = web_group(ec2), image(ec2)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        i = ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1, InstanceType="t3.micro", SecurityGroupIds=[sg], UserData=USER_DATA)["Instances"][0]
        first_200(f"http://{i['PublicIpAddress']}:8080/")
        times.append((time.perf_counter() - started) * 1000)
        ec2.terminate_instances(InstanceIds=[i["InstanceId"]])
    return {"first_200_p50_ms": statistics.median(times), "first_200_p99_ms": percentile(times, 99)}


def fleet(endpoint, count):
    ec2 = client(endpoint)
    sg, ami = web_group(ec2), image(ec2)
    started = time.perf_counter()
    launched = ec2.run_instances(ImageId=ami, MinCount=count, MaxCount=count, InstanceType="t3.micro", SecurityGroupIds=[sg], UserData=USER_DATA)["Instances"]
    with ThreadPoolExecutor(8) as ex:
        list(ex.map(lambda i: first_200(f"http://{i['PublicIpAddress']}:8080/", 120), launched))
    elapsed = time.perf_counter() - started
    ec2.terminate_instances(InstanceIds=[i["InstanceId"] for i in launched])
    return {"fleet": count, "fleet_serving_s": elapsed, "instances_s": count / elapsed}


def api(endpoint, runs):
    ec2 = client(endpoint)
    ami = image(ec2)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        i = ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1, InstanceType="t3.micro")["Instances"][0]
        times.append((time.perf_counter() - started) * 1000)
        ec2.terminate_instances(InstanceIds=[i["InstanceId"]])
    return {"run_instances_p50_ms": statistics.median(times)}


def main():
    p = argparse.ArgumentParser(description=__doc__)
    peers.add_args(p)
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--fleet", type=int, default=50)
    args = p.parse_args()
    peers.check_args(args)
    results = {}
    s = peers.nubo(args.nubo)
    try:
        s.wait_ready()
        results["nubo"] = {**boot(s.endpoint, args.runs), **fleet(s.endpoint, args.fleet), **api(s.endpoint, args.runs), "rss_mib": s.rss_mib()}
    finally:
        s.stop()
    m = peers.moto(args.python)
    try:
        m.wait_ready()
        results["moto"] = api(m.endpoint, args.runs)
    finally:
        m.stop()
    results["ratio"] = {"run_instances_p50_ms": results["moto"]["run_instances_p50_ms"] / results["nubo"]["run_instances_p50_ms"]}
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
