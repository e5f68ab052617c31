#!/usr/bin/env python3
"""The ALB proxy side by side with nginx as a reverse proxy, over the same two targets on
this machine: requests/s and p50/p99 latency from wrk (Debian's), as ratios.

The targets are two nginx servers answering a short static body (faster than either
proxy, so the proxy is what is measured). nubo: an ALB with an HTTP listener forwarding
to an `ip` target group of the two. nginx: `proxy_pass` to an upstream of the two with
keep-alive connections, `X-Forwarded-For` set, as an ALB does.

Needs nginx and wrk (bench/setup.sh installs them with apt). Run:
  bench/.venv/bin/python bench/elb.py [--duration 10] [--connections 32]
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import boto3
from botocore.config import Config

import peers


def nginx(conf_text, workdir):
    path = os.path.join(workdir, f"nginx-{time.time_ns()}.conf")
    with open(path, "w") as f:
        f.write(conf_text)
    return subprocess.Popen(["nginx", "-c", path, "-p", workdir, "-g", "daemon off;"], stderr=subprocess.DEVNULL)


def wait_http(url):
    for _ in range(200):
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except Exception:
            time.sleep(0.05)
    raise RuntimeError(f"{url} never answered")


def wrk(url, duration, connections):
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", url], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def ms(label):
        m = re.search(rf"\s{label}%\s+([\d.]+)(us|ms|s)", out)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    return {"requests_s": rate, "p50_ms": ms("50"), "p99_ms": ms("99")}


BASE = """worker_processes {workers};
error_log /dev/null;
pid {pid};
events {{ worker_connections 1024; }}
http {{
  access_log off;
  {body}
}}
"""


def main():
    p = argparse.ArgumentParser(description=__doc__)
    peers.add_args(p)
    p.add_argument("--duration", type=int, default=10)
    p.add_argument("--connections", type=int, default=32)
    args = p.parse_args()
    peers.check_args(args)
    if not shutil.which("nginx") or not shutil.which("wrk"):
        sys.exit("needs nginx and wrk: bench/setup.sh installs them")
    work = tempfile.mkdtemp(prefix="nubo-bench-elb-")
    targets = [peers.free_port(), peers.free_port()]
    backend = nginx(BASE.format(workers=1, pid=f"{work}/b.pid", body="".join(
        f"server {{ listen 127.0.0.1:{t}; location / {{ return 200 'hello from {t}\\n'; }} }}\n" for t in targets)), work)
    procs = [backend]
    results = {}
    try:
        for t in targets:
            wait_http(f"http://127.0.0.1:{t}/")
        # nginx as the reverse proxy.
        front = peers.free_port()
        upstream = "".join(f"server 127.0.0.1:{t};" for t in targets)
        # As many workers as nubo has threads: the machine's cores.
        procs.append(nginx(BASE.format(workers="auto", pid=f"{work}/f.pid", body=(
            f"upstream targets {{ {upstream} keepalive 64; }}\n"
            f"server {{ listen 127.0.0.1:{front}; location / {{ proxy_pass http://targets; proxy_http_version 1.1; "
            f"proxy_set_header Connection \"\"; proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; "
            f"proxy_set_header X-Forwarded-Proto $scheme; proxy_set_header Host $host; }} }}\n")), work))
        wait_http(f"http://127.0.0.1:{front}/")
        results["nginx"] = wrk(f"http://127.0.0.1:{front}/", args.duration, args.connections)
        print("nginx", json.dumps(results["nginx"]), file=sys.stderr)
        # nubo's ALB.
        s = peers.nubo(args.nubo)
        try:
            s.wait_ready()
            cfg = Config(retries={"max_attempts": 1})
            mk = lambda svc: boto3.client(svc, endpoint_url=s.endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test", config=cfg)
            ec2, elb = mk("ec2"), mk("elbv2")
            vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
            subnets = [x["SubnetId"] for x in ec2.describe_subnets()["Subnets"] if x["VpcId"] == vpc][:2]
            sg = ec2.create_security_group(GroupName="bench", Description="bench", VpcId=vpc)["GroupId"]
            ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
            lb = elb.create_load_balancer(Name="bench", Subnets=subnets, SecurityGroups=[sg])["LoadBalancers"][0]
            tg = elb.create_target_group(Name="bench", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip")["TargetGroups"][0]
            elb.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": "127.0.0.1", "Port": t} for t in targets])
            elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=8080, DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}])
            address = lb["AvailabilityZones"][0]["LoadBalancerAddresses"][0]["IpAddress"]
            wait_http(f"http://{address}:8080/")
            results["nubo"] = wrk(f"http://{address}:8080/", args.duration, args.connections)
            results["nubo"]["rss_mib"] = s.rss_mib()
            print("nubo", json.dumps(results["nubo"]), file=sys.stderr)
        finally:
            s.stop()
    finally:
        for proc in procs:
            proc.terminate()
        shutil.rmtree(work, ignore_errors=True)
    n, x = results["nubo"], results["nginx"]
    results["ratio"] = {"requests_s": n["requests_s"] / x["requests_s"], "p50_ms": x["p50_ms"] / n["p50_ms"], "p99_ms": x["p99_ms"] / n["p99_ms"]}
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
