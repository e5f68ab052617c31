#!/usr/bin/env python3
"""Auto Scaling: how long a group of 20 takes to reach InService from
CreateAutoScalingGroup, and how long from an instance's death to its replacement serving
through the ALB. nubo runs with --time-scale 60 (a minute of AWS time per second), so
EC2's transitions and the health checks move quickly; the figures are wall-clock. No
peer runs instances, so there is nothing to put beside them.

Needs root (namespaces). Run: bench/.venv/bin/python bench/autoscaling.py
"""

import argparse
import base64
import json
import time
import urllib.request

import boto3
from botocore.config import Config

import peers

# Each instance serves its own id (a replacement may reuse its predecessor's address).
USER_DATA = """#!/bin/sh
mkdir -p /srv && cd /srv
python3 -c "import urllib.request; print(urllib.request.urlopen('http://169.254.169.254/latest/meta-data/instance-id').read().decode())" > index.html
exec python3 -m http.server 80
"""


def main():
    p = argparse.ArgumentParser(description=__doc__)
    peers.add_args(p)
    p.add_argument("--size", type=int, default=20)
    args = p.parse_args()
    peers.check_args(args)
    s = peers.nubo(args.nubo, "--time-scale", "60")
    results = {}
    try:
        s.wait_ready()
        cfg = Config(retries={"max_attempts": 1})
        mk = lambda svc: boto3.client(svc, endpoint_url=s.endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test", config=cfg)
        ec2, elb, asg = mk("ec2"), mk("elbv2"), mk("autoscaling")
        vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
        subnets = [x["SubnetId"] for x in ec2.describe_subnets()["Subnets"] if x["VpcId"] == vpc][:3]
        sg = ec2.create_security_group(GroupName="bench", Description="bench", VpcId=vpc)["GroupId"]
        ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
        image = ec2.describe_images(Owners=["amazon"], Filters=[{"Name": "name", "Values": ["al2023-ami-*-x86_64"]}])["Images"][0]["ImageId"]
        lt = ec2.create_launch_template(LaunchTemplateName="bench", LaunchTemplateData={"ImageId": image, "InstanceType": "t3.micro", "SecurityGroupIds": [sg],
                                                                                       "UserData": base64.b64encode(USER_DATA.encode()).decode()})["LaunchTemplate"]
        group = lambda name: asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]

        # A group of N to InService.
        started = time.perf_counter()
        asg.create_auto_scaling_group(AutoScalingGroupName="fleet", MinSize=args.size, MaxSize=args.size, VPCZoneIdentifier=",".join(subnets),
                                      LaunchTemplate={"LaunchTemplateId": lt["LaunchTemplateId"]})
        while True:
            members = group("fleet")["Instances"]
            if len(members) == args.size and all(m["LifecycleState"] == "InService" for m in members):
                break
            time.sleep(0.01)
        results["group_of_%d_in_service_s" % args.size] = time.perf_counter() - started
        asg.delete_auto_scaling_group(AutoScalingGroupName="fleet", ForceDelete=True)

        # Death to replacement serving through the ALB.
        lb = elb.create_load_balancer(Name="bench", Subnets=subnets[:2], SecurityGroups=[sg])["LoadBalancers"][0]
        tg = elb.create_target_group(Name="bench", Protocol="HTTP", Port=80, VpcId=vpc, HealthCheckIntervalSeconds=5, HealthCheckTimeoutSeconds=2, HealthyThresholdCount=2, UnhealthyThresholdCount=2)["TargetGroups"][0]
        elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80, DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}])
        asg.create_auto_scaling_group(AutoScalingGroupName="web", MinSize=1, MaxSize=1, VPCZoneIdentifier=",".join(subnets[:2]),
                                      LaunchTemplate={"LaunchTemplateId": lt["LaunchTemplateId"]}, TargetGroupARNs=[tg["TargetGroupArn"]])
        address = lb["AvailabilityZones"][0]["LoadBalancerAddresses"][0]["IpAddress"]

        def answer():
            try:
                with urllib.request.urlopen(f"http://{address}/", timeout=1) as r:
                    return r.read().decode().strip() if r.status == 200 else None
            except Exception:
                return None

        while not answer():
            time.sleep(0.01)
        first = group("web")["Instances"][0]["InstanceId"]
        served_by = answer()
        started = time.perf_counter()
        ec2.terminate_instances(InstanceIds=[first])
        while True:
            got = answer()
            if got and got != served_by:
                break
            time.sleep(0.005)
        results["death_to_replacement_serving_s"] = time.perf_counter() - started
        results["rss_mib"] = s.rss_mib()
    finally:
        s.stop()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
