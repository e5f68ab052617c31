"""Auto Scaling through boto3: the seeds' highly available web app. A launch template
whose user data is the seeds' httpd script, an ALB with a target group, a group 2/2/3
with ELB health checks attached to it, a target tracking policy on average CPU. The
group launches its instances, the ALB answers with two hostnames, a dead web server gets
its instance replaced, burning CPU launches a third instance, and idling scales back to
two; the scaling activities tell all of it. nubo's clock drives EC2 transitions, health
checks, metrics and alarms; the tests wait on the conditions they need."""

import base64
import functools
import glob
import json
import os
import signal
import subprocess
import sys
import urllib.request
import uuid
from datetime import timezone

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import Nubo, until as conftest_until

REGION = "us-east-1"
CONFIG = Config(retries={"max_attempts": 1})

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="instances need namespaces: run as root (as CI does)")

SEEDS_HTTPD = """#!/bin/bash
yum update -y
yum install -y httpd
systemctl start httpd
systemctl enable httpd
echo "<h1>Hello from $(hostname -f)</h1>" > /var/www/html/index.html
"""


@pytest.fixture(scope="module")
def node():
    n = Nubo()
    yield n
    n.stop()


def client(n, service):
    return boto3.client(service, endpoint_url=n.endpoint, region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test", config=CONFIG)


def advance(node, seconds):
    status, _, _ = node.http("POST", "/_nubo/clock", f'{{"advance": "{seconds}s"}}'.encode())
    assert status == 200


# Instances boot and groups converge: a minute by default.
until = functools.partial(conftest_until, timeout=60.0)


def through_alb(node, dns):
    req = urllib.request.Request(node.endpoint + "/", headers={"Host": dns})
    try:
        with urllib.request.urlopen(req, timeout=3) as r:
            return r.read().decode()
    except Exception:
        return None


def subnet_and_template(ec2, template=True):
    """A default subnet, Amazon Linux 2023's image, and a t2.micro launch template of it."""
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnet = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"][0]["SubnetId"]
    image = ec2.describe_images(Owners=["amazon"], Filters=[{"Name": "name", "Values": ["al2023-ami-*-x86_64"]}])["Images"][0]["ImageId"]
    lt = ec2.create_launch_template(LaunchTemplateName=f"lt-{uuid.uuid4().hex[:6]}", LaunchTemplateData={"ImageId": image, "InstanceType": "t2.micro"})["LaunchTemplate"] if template else None
    return subnet, image, lt


def group_processes(instance_id, command):
    """Host pids of an instance's processes running `command` (found by their cgroup)."""
    pids = []
    for path in glob.glob("/proc/[0-9]*/cgroup"):
        pid = path.split("/")[2]
        try:
            if f"/nubo/{instance_id}" in open(path).read() and command in open(f"/proc/{pid}/cmdline").read().replace("\0", " "):
                pids.append(int(pid))
        except OSError:
            pass
    return pids


def burn_on(instance_id):
    """A CPU burner placed in an instance's cgroups: it counts as the instance's CPU."""
    p = subprocess.Popen([sys.executable, "-c", "import time\nend=time.time()+120\nwhile time.time()<end: pass"])
    for procs in glob.glob(f"/sys/fs/cgroup/*/nubo/{instance_id}/cgroup.procs") + glob.glob(f"/sys/fs/cgroup/nubo/{instance_id}/cgroup.procs"):
        try:
            with open(procs, "w") as f:
                f.write(str(p.pid))
        except OSError:
            pass
    return p


def test_the_seeds_web_app_heals_and_scales(node):
    ec2, elb, asg, cw = client(node, "ec2"), client(node, "elbv2"), client(node, "autoscaling"), client(node, "cloudwatch")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]][:2]
    sg = ec2.create_security_group(GroupName=f"web-{uuid.uuid4().hex[:6]}", Description="web", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    image = ec2.describe_images(Owners=["amazon"], Filters=[{"Name": "name", "Values": ["al2023-ami-*-x86_64"]}])["Images"][0]["ImageId"]
    lt = ec2.create_launch_template(LaunchTemplateName=f"web-{uuid.uuid4().hex[:6]}", LaunchTemplateData={
        "ImageId": image, "InstanceType": "t2.micro", "SecurityGroupIds": [sg], "UserData": base64.b64encode(SEEDS_HTTPD.encode()).decode()})["LaunchTemplate"]
    lb = elb.create_load_balancer(Name=f"web-{uuid.uuid4().hex[:6]}", Subnets=subnets, SecurityGroups=[sg])["LoadBalancers"][0]
    tg = elb.create_target_group(Name=f"web-{uuid.uuid4().hex[:6]}", Protocol="HTTP", Port=80, VpcId=vpc, HealthCheckIntervalSeconds=10,
                                 HealthyThresholdCount=2, UnhealthyThresholdCount=2)["TargetGroups"][0]
    elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80, DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}])
    name = f"web-{uuid.uuid4().hex[:6]}"
    asg.create_auto_scaling_group(AutoScalingGroupName=name, MinSize=2, MaxSize=3, DesiredCapacity=2, VPCZoneIdentifier=",".join(subnets),
                                  LaunchTemplate={"LaunchTemplateId": lt["LaunchTemplateId"], "Version": "$Latest"},
                                  TargetGroupARNs=[tg["TargetGroupArn"]], HealthCheckType="ELB", HealthCheckGracePeriod=60,
                                  Tags=[{"Key": "app", "Value": "seeds", "PropagateAtLaunch": True}])
    with pytest.raises(ClientError) as e:
        asg.create_auto_scaling_group(AutoScalingGroupName=name, MinSize=1, MaxSize=1, LaunchTemplate={"LaunchTemplateId": lt["LaunchTemplateId"]}, VPCZoneIdentifier=subnets[0])
    assert e.value.response["Error"]["Code"] == "AlreadyExists"
    group = lambda: asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]
    members = until("two instances", lambda: len(group()["Instances"]) == 2 and group()["Instances"])
    zones = {s["AvailabilityZone"] for s in ec2.describe_subnets(SubnetIds=subnets)["Subnets"]}
    assert {m["AvailabilityZone"] for m in members} == zones, "balanced across zones"
    first = {m["InstanceId"] for m in members}
    tags = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": list(first)}])["Tags"]
    assert {(t["Key"], t["Value"]) for t in tags} >= {("app", "seeds"), ("aws:autoscaling:groupName", name)}
    advance(node, 10)
    until("InService", lambda: all(m["LifecycleState"] == "InService" for m in group()["Instances"]))
    # Two different hostnames through the ALB's DNS name.
    seen = set()
    until("two hostnames through the ALB", lambda: seen.add(through_alb(node, lb["DNSName"])) or len({s for s in seen if s and "Hello from" in s}) == 2)
    # Kill one instance's web server: its target turns unhealthy and the group replaces it.
    victim = sorted(first)[0]
    for pid in group_processes(victim, "serve"):
        os.kill(pid, signal.SIGKILL)
    until("the victim replaced", lambda: advance(node, 10) or (victim not in {m["InstanceId"] for m in group()["Instances"]} and len(group()["Instances"]) == 2))
    replacement = ({m["InstanceId"] for m in group()["Instances"]} - first).pop()
    ip = ec2.describe_instances(InstanceIds=[replacement])["Reservations"][0]["Instances"][0]["PrivateIpAddress"]
    until("the replacement serving through the ALB", lambda: advance(node, 10) or f"ip-{ip.replace('.', '-')}" in (through_alb(node, lb["DNSName"]) or ""))
    # Target tracking on average CPU: AWS's alarms appear, owned by the policy.
    policy = asg.put_scaling_policy(AutoScalingGroupName=name, PolicyName="cpu", PolicyType="TargetTrackingScaling",
                                    TargetTrackingConfiguration={"PredefinedMetricSpecification": {"PredefinedMetricType": "ASGAverageCPUUtilization"}, "TargetValue": 20.0})
    alarm_names = sorted(a["AlarmName"] for a in policy["Alarms"])
    assert alarm_names[0].startswith(f"TargetTracking-{name}-AlarmHigh-") and alarm_names[1].startswith(f"TargetTracking-{name}-AlarmLow-")
    alarms = {a["AlarmName"]: a for a in cw.describe_alarms(AlarmNames=alarm_names)["MetricAlarms"]}
    high = alarms[alarm_names[0]]
    assert (high["EvaluationPeriods"], high["Threshold"], high["ComparisonOperator"], high["AlarmActions"]) == (3, 20.0, "GreaterThanThreshold", [policy["PolicyARN"]])
    assert alarms[alarm_names[1]]["EvaluationPeriods"] == 15 and alarms[alarm_names[1]]["Threshold"] == 18.0
    # Burn CPU on the instances: AlarmHigh fires, a third instance launches and serves.
    burners = [burn_on(m["InstanceId"]) for m in group()["Instances"]]
    try:
        until("scale-out to 3", lambda: advance(node, 60) or group()["DesiredCapacity"] == 3, timeout=90)
    finally:
        for b in burners:
            b.kill()
    until("a third instance", lambda: len(group()["Instances"]) == 3)
    until("three InService", lambda: advance(node, 10) or all(m["LifecycleState"] == "InService" for m in group()["Instances"]))
    # Idle: AlarmLow after 15 minutes below 90 % of the target, back to 2 after the warm-up.
    until("scale-in to 2", lambda: advance(node, 60) or (group()["DesiredCapacity"] == 2 and len(group()["Instances"]) == 2), timeout=120)
    activities = asg.describe_scaling_activities(AutoScalingGroupName=name)["Activities"]
    descriptions = [a["Description"] for a in activities]
    assert sum(d.startswith("Launching a new EC2 instance: i-") for d in descriptions) == 4
    assert sum(d.startswith("Terminating EC2 instance: i-") for d in descriptions) == 2
    causes = " ".join(a["Cause"] for a in activities)
    assert "a user request created an AutoScalingGroup changing the desired capacity from 0 to 2" in causes
    assert "ELB system health check failure" in causes
    assert f"monitor alarm {alarm_names[0]} in state ALARM triggered policy cpu" in causes
    asg.delete_auto_scaling_group(AutoScalingGroupName=name, ForceDelete=True)
    assert asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"] == []
    assert cw.describe_alarms(AlarmNames=alarm_names)["MetricAlarms"] == []


def test_group_api_checks_and_manual_capacity(node):
    ec2, asg = client(node, "ec2"), client(node, "autoscaling")
    subnet, image, lt = subnet_and_template(ec2)
    with pytest.raises(ClientError) as e:
        asg.create_auto_scaling_group(AutoScalingGroupName="no-template", MinSize=1, MaxSize=1, VPCZoneIdentifier=subnet)
    assert e.value.response["Error"]["Code"] == "ValidationError"
    with pytest.raises(ClientError) as e:
        asg.create_auto_scaling_group(AutoScalingGroupName="bad-sizes", MinSize=3, MaxSize=1, LaunchTemplate={"LaunchTemplateId": lt["LaunchTemplateId"]}, VPCZoneIdentifier=subnet)
    assert e.value.response["Error"]["Code"] == "ValidationError"
    name = f"manual-{uuid.uuid4().hex[:6]}"
    asg.create_auto_scaling_group(AutoScalingGroupName=name, MinSize=0, MaxSize=2, DesiredCapacity=0, LaunchTemplate={"LaunchTemplateId": lt["LaunchTemplateId"]}, VPCZoneIdentifier=subnet)
    group = lambda: asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]
    assert group()["Instances"] == [] and group()["HealthCheckType"] == "EC2" and group()["DefaultCooldown"] == 300
    with pytest.raises(ClientError) as e:
        asg.set_desired_capacity(AutoScalingGroupName=name, DesiredCapacity=5)
    assert e.value.response["Error"]["Code"] == "ValidationError"
    asg.set_desired_capacity(AutoScalingGroupName=name, DesiredCapacity=1)
    member = until("a member", lambda: group()["Instances"] and group()["Instances"][0])
    # An instance terminated behind the group's back is replaced (EC2 health check).
    ec2.terminate_instances(InstanceIds=[member["InstanceId"]])
    until("a replacement", lambda: group()["Instances"] and group()["Instances"][0]["InstanceId"] != member["InstanceId"])
    with pytest.raises(ClientError) as e:
        asg.delete_auto_scaling_group(AutoScalingGroupName=name)
    assert e.value.response["Error"]["Code"] == "ResourceInUse"
    replacement = group()["Instances"][0]["InstanceId"]
    asg.terminate_instance_in_auto_scaling_group(InstanceId=replacement, ShouldDecrementDesiredCapacity=True)
    assert group()["DesiredCapacity"] == 0
    until("empty", lambda: group()["Instances"] == [])
    asg.delete_auto_scaling_group(AutoScalingGroupName=name)
    causes = [a["Cause"] for a in asg.describe_scaling_activities(AutoScalingGroupName=name, IncludeDeletedGroups=True)["Activities"]]
    assert any("EC2 health check indicating it has been terminated" in c for c in causes)
    # A mixed instances policy is kept as given; its launch template is the group's.
    mixed = {"LaunchTemplate": {"LaunchTemplateSpecification": {"LaunchTemplateId": lt["LaunchTemplateId"], "Version": "$Latest"},
                                "Overrides": [{"InstanceType": "t3.micro"}, {"InstanceType": "t3a.micro"}]},
             "InstancesDistribution": {"OnDemandBaseCapacity": 0, "OnDemandPercentageAboveBaseCapacity": 50}}
    asg.create_auto_scaling_group(AutoScalingGroupName=f"{name}-mixed", MinSize=0, MaxSize=2, DesiredCapacity=0, MixedInstancesPolicy=mixed, VPCZoneIdentifier=subnet)
    got = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[f"{name}-mixed"])["AutoScalingGroups"][0]
    assert got["MixedInstancesPolicy"]["LaunchTemplate"]["Overrides"] == mixed["LaunchTemplate"]["Overrides"] and "LaunchTemplate" not in got
    assert got["MixedInstancesPolicy"]["InstancesDistribution"]["OnDemandPercentageAboveBaseCapacity"] == 50
    asg.delete_auto_scaling_group(AutoScalingGroupName=f"{name}-mixed")


def test_schedules_lifecycle_hooks_and_notifications(node):
    ec2, asg, sns, sqs = client(node, "ec2"), client(node, "autoscaling"), client(node, "sns"), client(node, "sqs")
    subnet, image, lt = subnet_and_template(ec2)
    name = f"events-{uuid.uuid4().hex[:6]}"
    asg.create_auto_scaling_group(AutoScalingGroupName=name, MinSize=0, MaxSize=3, DesiredCapacity=0, LaunchTemplate={"LaunchTemplateId": lt["LaunchTemplateId"]}, VPCZoneIdentifier=subnet)
    group = lambda: asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]
    # Notifications: an SQS queue subscribed to the topic receives them.
    topic = sns.create_topic(Name=f"asg-{uuid.uuid4().hex[:6]}")["TopicArn"]
    queue = sqs.create_queue(QueueName=f"asg-{uuid.uuid4().hex[:6]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    asg.put_notification_configuration(AutoScalingGroupName=name, TopicARN=topic, NotificationTypes=["autoscaling:EC2_INSTANCE_LAUNCH", "autoscaling:EC2_INSTANCE_TERMINATE"])
    events = []

    def received(event):
        for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            events.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
        return [e for e in events if e.get("Event") == event]

    assert until("the test notification", lambda: received("autoscaling:TEST_NOTIFICATION"))[0]["AutoScalingGroupName"] == name
    # A launching hook holds new instances in Pending:Wait until the action completes.
    hook_queue = sqs.create_queue(QueueName=f"hook-{uuid.uuid4().hex[:6]}")["QueueUrl"]
    hook_arn = sqs.get_queue_attributes(QueueUrl=hook_queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    asg.put_lifecycle_hook(LifecycleHookName="warm-up", AutoScalingGroupName=name, LifecycleTransition="autoscaling:EC2_INSTANCE_LAUNCHING",
                           NotificationTargetARN=hook_arn, RoleARN="arn:aws:iam::000000000000:role/hooks", HeartbeatTimeout=300, DefaultResult="ABANDON")
    assert asg.describe_lifecycle_hooks(AutoScalingGroupName=name)["LifecycleHooks"][0]["DefaultResult"] == "ABANDON"
    # A scheduled action raises the desired capacity at its time, on nubo's clock.
    now = datetime_now(node)
    asg.put_scheduled_update_group_action(AutoScalingGroupName=name, ScheduledActionName="morning", StartTime=now + 120, DesiredCapacity=1)
    assert asg.describe_scheduled_actions(AutoScalingGroupName=name)["ScheduledUpdateGroupActions"][0]["DesiredCapacity"] == 1
    assert group()["DesiredCapacity"] == 0
    advance(node, 121)
    until("the schedule applied", lambda: group()["DesiredCapacity"] == 1)
    assert asg.describe_scheduled_actions(AutoScalingGroupName=name)["ScheduledUpdateGroupActions"] == [], "a one-off action is gone once run"
    member = until("a held instance", lambda: group()["Instances"] and group()["Instances"][0])
    assert member["LifecycleState"] == "Pending:Wait"

    def hook_message():
        for m in sqs.receive_message(QueueUrl=hook_queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            body = json.loads(m["Body"])
            if body.get("LifecycleTransition") == "autoscaling:EC2_INSTANCE_LAUNCHING":
                return body
        return None

    message = until("the lifecycle message", hook_message)
    assert message["EC2InstanceId"] == member["InstanceId"] and message["LifecycleHookName"] == "warm-up"
    advance(node, 10)
    assert group()["Instances"][0]["LifecycleState"] == "Pending:Wait", "held until the action completes"
    asg.complete_lifecycle_action(LifecycleHookName="warm-up", AutoScalingGroupName=name, LifecycleActionToken=message["LifecycleActionToken"], LifecycleActionResult="CONTINUE")
    until("InService", lambda: group()["Instances"][0]["LifecycleState"] == "InService")
    launch = until("the launch notification", lambda: received("autoscaling:EC2_INSTANCE_LAUNCH"))[0]
    assert launch["EC2InstanceId"] == member["InstanceId"] and launch["Service"] == "AWS Auto Scaling"
    asg.set_desired_capacity(AutoScalingGroupName=name, DesiredCapacity=0)
    terminate = until("the terminate notification", lambda: received("autoscaling:EC2_INSTANCE_TERMINATE"))[0]
    assert terminate["EC2InstanceId"] == member["InstanceId"]
    causes = [a["Cause"] for a in asg.describe_scaling_activities(AutoScalingGroupName=name)["Activities"]]
    assert any("a scheduled action update of AutoScalingGroup constraints" in c for c in causes)
    # A recurrence runs on the wall clock of its time zone: 09:00 in New York is 13:00 or 14:00 UTC
    # (zones come from the host's tz database; a machine without one has only UTC).
    if not os.path.exists(os.path.join(os.environ.get("TZDIR", "/usr/share/zoneinfo"), "America/New_York")):
        return
    asg.put_scheduled_update_group_action(AutoScalingGroupName=name, ScheduledActionName="ny-morning", Recurrence="0 9 * * *", TimeZone="America/New_York", DesiredCapacity=0)
    action = asg.describe_scheduled_actions(AutoScalingGroupName=name, ScheduledActionNames=["ny-morning"])["ScheduledUpdateGroupActions"][0]
    assert action["TimeZone"] == "America/New_York" and action["StartTime"].astimezone(timezone.utc).hour in (13, 14) and action["StartTime"].minute == 0
    with pytest.raises(ClientError) as e:
        asg.put_scheduled_update_group_action(AutoScalingGroupName=name, ScheduledActionName="nowhere", Recurrence="0 9 * * *", TimeZone="Mars/Olympus_Mons", DesiredCapacity=0)
    assert e.value.response["Error"]["Code"] == "ValidationError"


def datetime_now(node):
    """nubo's clock, as seconds since the epoch."""
    status, _, body = node.http("GET", "/_nubo/clock")
    assert status == 200
    from datetime import datetime
    return datetime.fromisoformat(json.loads(body)["now"].replace("Z", "+00:00")).timestamp()


def test_launch_configurations_attach_standby_and_detach(node):
    ec2, asg = client(node, "ec2"), client(node, "autoscaling")
    subnet, image, _ = subnet_and_template(ec2, template=False)
    lc = f"lc-{uuid.uuid4().hex[:6]}"
    # boto3 base64-encodes a launch configuration's user data, as for RunInstances.
    asg.create_launch_configuration(LaunchConfigurationName=lc, ImageId=image, InstanceType="t2.micro", UserData="#!/bin/sh\necho from the launch configuration\n")
    with pytest.raises(ClientError) as e:
        asg.create_launch_configuration(LaunchConfigurationName=lc, ImageId=image, InstanceType="t2.micro")
    assert e.value.response["Error"]["Code"] == "AlreadyExists"
    assert asg.describe_launch_configurations(LaunchConfigurationNames=[lc])["LaunchConfigurations"][0]["InstanceType"] == "t2.micro"
    name = f"lc-{uuid.uuid4().hex[:6]}"
    asg.create_auto_scaling_group(AutoScalingGroupName=name, LaunchConfigurationName=lc, MinSize=0, MaxSize=3, DesiredCapacity=1, VPCZoneIdentifier=subnet)
    group = lambda: asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]
    assert group()["LaunchConfigurationName"] == lc
    member = until("a member", lambda: group()["Instances"] and group()["Instances"][0])
    until("its user data", lambda: "from the launch configuration" in ec2.get_console_output(InstanceId=member["InstanceId"]).get("Output", ""))
    with pytest.raises(ClientError) as e:
        asg.delete_launch_configuration(LaunchConfigurationName=lc)
    assert e.value.response["Error"]["Code"] == "ResourceInUse"
    # An instance launched by hand joins the group.
    extra = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t2.micro", SubnetId=subnet)["Instances"][0]["InstanceId"]
    advance(node, 10)
    asg.attach_instances(AutoScalingGroupName=name, InstanceIds=[extra])
    assert group()["DesiredCapacity"] == 2 and extra in {m["InstanceId"] for m in group()["Instances"]}
    until("InService", lambda: all(m["LifecycleState"] == "InService" for m in group()["Instances"]))
    # Standby takes it out of service without a replacement when the capacity shrinks with it.
    asg.enter_standby(AutoScalingGroupName=name, InstanceIds=[extra], ShouldDecrementDesiredCapacity=True)
    assert {m["InstanceId"]: m["LifecycleState"] for m in group()["Instances"]}[extra] == "Standby" and group()["DesiredCapacity"] == 1
    asg.exit_standby(AutoScalingGroupName=name, InstanceIds=[extra])
    assert {m["InstanceId"]: m["LifecycleState"] for m in group()["Instances"]}[extra] == "InService" and group()["DesiredCapacity"] == 2
    out = asg.detach_instances(AutoScalingGroupName=name, InstanceIds=[extra], ShouldDecrementDesiredCapacity=True)
    assert out["Activities"][0]["Description"] == f"Detaching EC2 instance: {extra}"
    assert extra not in {m["InstanceId"] for m in group()["Instances"]} and group()["DesiredCapacity"] == 1
    assert ec2.describe_instances(InstanceIds=[extra])["Reservations"][0]["Instances"][0]["State"]["Name"] == "running", "a detached instance keeps running"
    asg.delete_auto_scaling_group(AutoScalingGroupName=name, ForceDelete=True)
    asg.delete_launch_configuration(LaunchConfigurationName=lc)


def test_group_metrics_reach_cloudwatch_when_collected(node):
    from datetime import datetime, timedelta, timezone
    ec2, asg, cw = client(node, "ec2"), client(node, "autoscaling"), client(node, "cloudwatch")
    subnet, image, lt = subnet_and_template(ec2)
    name = f"metrics-{uuid.uuid4().hex[:6]}"
    asg.create_auto_scaling_group(AutoScalingGroupName=name, MinSize=1, MaxSize=3, DesiredCapacity=1, LaunchTemplate={"LaunchTemplateId": lt["LaunchTemplateId"]}, VPCZoneIdentifier=subnet)
    try:
        types = asg.describe_metric_collection_types()
        assert "GroupInServiceInstances" in [m["Metric"] for m in types["Metrics"]] and types["Granularities"] == [{"Granularity": "1Minute"}]
        with pytest.raises(ClientError) as e:
            asg.enable_metrics_collection(AutoScalingGroupName=name, Granularity="5Minute")
        assert e.value.response["Error"]["Code"] == "ValidationError"
        with pytest.raises(ClientError) as e:
            asg.enable_metrics_collection(AutoScalingGroupName=name, Granularity="1Minute", Metrics=["GroupNope"])
        assert e.value.response["Error"]["Code"] == "ValidationError"
        asg.enable_metrics_collection(AutoScalingGroupName=name, Granularity="1Minute", Metrics=["GroupInServiceInstances", "GroupDesiredCapacity"])
        enabled = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]["EnabledMetrics"]
        assert sorted(m["Metric"] for m in enabled) == ["GroupDesiredCapacity", "GroupInServiceInstances"] and enabled[0]["Granularity"] == "1Minute"

        def latest(metric):
            now = datetime.fromtimestamp(datetime_now(node), timezone.utc)
            points = cw.get_metric_statistics(Namespace="AWS/AutoScaling", MetricName=metric, Dimensions=[{"Name": "AutoScalingGroupName", "Value": name}],
                                              StartTime=now - timedelta(hours=1), EndTime=now + timedelta(minutes=5), Period=60, Statistics=["Maximum"])["Datapoints"]
            return max(points, key=lambda p: p["Timestamp"])["Maximum"] if points else None

        # Each minute of nubo's clock publishes them.
        until("the group in service in CloudWatch", lambda: advance(node, 20) or latest("GroupInServiceInstances") == 1)
        assert latest("GroupDesiredCapacity") == 1
        assert latest("GroupTotalInstances") is None, "only the metrics enabled are published"
        asg.disable_metrics_collection(AutoScalingGroupName=name)
        assert asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]["EnabledMetrics"] == []
    finally:
        asg.delete_auto_scaling_group(AutoScalingGroupName=name, ForceDelete=True)


def test_instance_refresh_replaces_members_in_batches(node):
    ec2, asg = client(node, "ec2"), client(node, "autoscaling")
    subnet, image, lt = subnet_and_template(ec2)
    name = f"refresh-{uuid.uuid4().hex[:6]}"
    asg.create_auto_scaling_group(AutoScalingGroupName=name, MinSize=2, MaxSize=4, DesiredCapacity=2, DefaultInstanceWarmup=30,
                                  LaunchTemplate={"LaunchTemplateId": lt["LaunchTemplateId"], "Version": "1"}, VPCZoneIdentifier=subnet)
    group = lambda: asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]
    try:
        assert group()["DefaultInstanceWarmup"] == 30 and group()["HealthCheckGracePeriod"] == 0
        until("two in service", lambda: len(group()["Instances"]) == 2 and all(m["LifecycleState"] == "InService" for m in group()["Instances"]))
        old = {m["InstanceId"] for m in group()["Instances"]}
        with pytest.raises(ClientError) as e:
            asg.cancel_instance_refresh(AutoScalingGroupName=name)
        assert e.value.response["Error"]["Code"] == "ActiveInstanceRefreshNotFound"
        with pytest.raises(ClientError) as e:
            asg.start_instance_refresh(AutoScalingGroupName=name, Preferences={"MaxHealthyPercentage": 150})
        assert e.value.response["Error"]["Code"] == "ValidationError", "MaxHealthyPercentage needs MinHealthyPercentage"
        ec2.create_launch_template_version(LaunchTemplateId=lt["LaunchTemplateId"], SourceVersion="1", LaunchTemplateData={"InstanceType": "t3.micro"})
        desired = {"LaunchTemplate": {"LaunchTemplateId": lt["LaunchTemplateId"], "Version": "2"}}
        refresh_id = asg.start_instance_refresh(AutoScalingGroupName=name, DesiredConfiguration=desired,
                                                Preferences={"MinHealthyPercentage": 50, "ScaleInProtectedInstances": "Ignore", "StandbyInstances": "Ignore"})["InstanceRefreshId"]
        with pytest.raises(ClientError) as e:
            asg.start_instance_refresh(AutoScalingGroupName=name)
        assert e.value.response["Error"]["Code"] == "InstanceRefreshInProgress"
        with pytest.raises(ClientError) as e:
            asg.update_auto_scaling_group(AutoScalingGroupName=name, LaunchTemplate={"LaunchTemplateId": lt["LaunchTemplateId"], "Version": "1"})
        assert e.value.response["Error"]["Code"] == "ValidationError", "the desired configuration is locked while the refresh runs"
        refresh = lambda: asg.describe_instance_refreshes(AutoScalingGroupName=name, InstanceRefreshIds=[refresh_id])["InstanceRefreshes"][0]
        assert refresh()["Preferences"]["MinHealthyPercentage"] == 50 and refresh()["Preferences"]["MaxHealthyPercentage"] == 100
        # 50 % of 2 must stay healthy: one member at a time, its replacement warmed up before the next.
        until("the first replacement", lambda: len(old - {m["InstanceId"] for m in group()["Instances"]}) == 1)
        assert refresh()["Status"] == "InProgress" and refresh()["InstancesToUpdate"] >= 1
        assert len([m for m in group()["Instances"] if m["InstanceId"] in old and m["LifecycleState"] == "InService"]) == 1
        in_service = lambda: len(group()["Instances"]) == 2 and all(m["LifecycleState"] == "InService" for m in group()["Instances"])
        until("the replacement in service", in_service)
        assert "warm up" in (refresh().get("StatusReason") or "")
        assert len(old - {m["InstanceId"] for m in group()["Instances"]}) == 1, "the next waits for the warm-up"
        advance(node, 31)
        until("both replaced", lambda: not old & {m["InstanceId"] for m in group()["Instances"]} and in_service())
        advance(node, 31)
        done = until("the refresh done", lambda: refresh()["Status"] == "Successful" and refresh())
        assert done["PercentageComplete"] == 100 and done["InstancesToUpdate"] == 0 and "EndTime" in done
        members = group()["Instances"]
        assert len(members) == 2 and all(m["LaunchTemplate"]["Version"] == "2" for m in members)
        assert {ec2.describe_instances(InstanceIds=[m["InstanceId"]])["Reservations"][0]["Instances"][0]["InstanceType"] for m in members} == {"t3.micro"}
        assert group()["LaunchTemplate"]["Version"] == "2", "the group takes the desired configuration"
        causes = [a["Cause"] for a in asg.describe_scaling_activities(AutoScalingGroupName=name)["Activities"]]
        assert sum("in response to an instance refresh" in c for c in causes) == 2
        # Launching ahead (MaxHealthyPercentage 200) with skip matching: nothing to replace.
        skip = asg.start_instance_refresh(AutoScalingGroupName=name, Preferences={"MinHealthyPercentage": 100, "MaxHealthyPercentage": 200, "SkipMatching": True})["InstanceRefreshId"]
        until("nothing to replace", lambda: asg.describe_instance_refreshes(AutoScalingGroupName=name, InstanceRefreshIds=[skip])["InstanceRefreshes"][0]["Status"] == "Successful")
        assert {m["InstanceId"] for m in group()["Instances"]} == {m["InstanceId"] for m in members}
        # Without skip matching every member goes, replacements launched first: capacity rises to 4.
        ahead = asg.start_instance_refresh(AutoScalingGroupName=name, Preferences={"MinHealthyPercentage": 100, "MaxHealthyPercentage": 200, "InstanceWarmup": 0})["InstanceRefreshId"]
        until("replacements launched ahead", lambda: len(group()["Instances"]) == 4)
        until("the old ones gone", lambda: not {m["InstanceId"] for m in members} & {m["InstanceId"] for m in group()["Instances"]} and len(group()["Instances"]) == 2)
        until("done", lambda: asg.describe_instance_refreshes(AutoScalingGroupName=name, InstanceRefreshIds=[ahead])["InstanceRefreshes"][0]["Status"] == "Successful")
        # Cancelling stops it where it stands.
        slow = asg.start_instance_refresh(AutoScalingGroupName=name, Preferences={"MinHealthyPercentage": 100, "InstanceWarmup": 600})["InstanceRefreshId"]
        assert asg.cancel_instance_refresh(AutoScalingGroupName=name)["InstanceRefreshId"] == slow
        until("cancelled", lambda: asg.describe_instance_refreshes(AutoScalingGroupName=name, InstanceRefreshIds=[slow])["InstanceRefreshes"][0]["Status"] == "Cancelled", timeout=90)
        assert [r["InstanceRefreshId"] for r in asg.describe_instance_refreshes(AutoScalingGroupName=name)["InstanceRefreshes"]][:2] == [slow, ahead], "newest first"
    finally:
        asg.delete_auto_scaling_group(AutoScalingGroupName=name, ForceDelete=True)


def test_members_past_their_maximum_lifetime_are_replaced(node):
    ec2, asg = client(node, "ec2"), client(node, "autoscaling")
    subnet, image, lt = subnet_and_template(ec2)
    name = f"lifetime-{uuid.uuid4().hex[:6]}"
    with pytest.raises(ClientError) as e:
        asg.create_auto_scaling_group(AutoScalingGroupName=name, MinSize=1, MaxSize=1, MaxInstanceLifetime=3600, LaunchTemplate={"LaunchTemplateId": lt["LaunchTemplateId"]}, VPCZoneIdentifier=subnet)
    assert e.value.response["Error"]["Code"] == "ValidationError", "at least a day"
    asg.create_auto_scaling_group(AutoScalingGroupName=name, MinSize=1, MaxSize=1, MaxInstanceLifetime=86400, LaunchTemplate={"LaunchTemplateId": lt["LaunchTemplateId"]}, VPCZoneIdentifier=subnet)
    group = lambda: asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]
    try:
        first = until("in service", lambda: group()["Instances"] and group()["Instances"][0]["LifecycleState"] == "InService" and group()["Instances"][0]["InstanceId"])
        advance(node, 86400)
        until("a replacement", lambda: group()["Instances"] and group()["Instances"][0]["InstanceId"] != first)
        causes = [a["Cause"] for a in asg.describe_scaling_activities(AutoScalingGroupName=name)["Activities"]]
        assert any("maximum instance lifetime" in c for c in causes)
    finally:
        asg.delete_auto_scaling_group(AutoScalingGroupName=name, ForceDelete=True)


def test_step_scaling_from_an_alarm_steps_once_per_warm_up(node):
    ec2, asg, cw = client(node, "ec2"), client(node, "autoscaling"), client(node, "cloudwatch")
    subnet, image, lt = subnet_and_template(ec2)
    name = f"steps-{uuid.uuid4().hex[:6]}"
    asg.create_auto_scaling_group(AutoScalingGroupName=name, MinSize=1, MaxSize=6, DesiredCapacity=1, LaunchTemplate={"LaunchTemplateId": lt["LaunchTemplateId"]}, VPCZoneIdentifier=subnet)
    group = lambda: asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]
    try:
        policy = asg.put_scaling_policy(AutoScalingGroupName=name, PolicyName="depth", PolicyType="StepScaling", AdjustmentType="ChangeInCapacity",
                                        EstimatedInstanceWarmup=600, MetricAggregationType="Maximum",
                                        StepAdjustments=[{"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 10, "ScalingAdjustment": 1},
                                                         {"MetricIntervalLowerBound": 10, "ScalingAdjustment": 2}])["PolicyARN"]
        metric = f"Depth-{name}"
        cw.put_metric_alarm(AlarmName=f"{name}-high", Namespace="Custom/Queue", MetricName=metric, Statistic="Maximum", Period=60, EvaluationPeriods=1,
                            Threshold=100, ComparisonOperator="GreaterThanOrEqualToThreshold", AlarmActions=[policy])
        until("in service", lambda: group()["Instances"] and group()["Instances"][0]["LifecycleState"] == "InService")

        def breach(value):
            """A datapoint, then a minute: the alarm evaluates it (its reason data shows it)."""
            cw.put_metric_data(Namespace="Custom/Queue", MetricData=[{"MetricName": metric, "Value": value, "Timestamp": datetime_now(node)}])
            advance(node, 60)
            alarm = lambda: cw.describe_alarms(AlarmNames=[f"{name}-high"])["MetricAlarms"][0]
            until(f"{value} evaluated", lambda: alarm()["StateValue"] == "ALARM" and value in json.loads(alarm()["StateReasonData"]).get("recentDatapoints", []))

        advance(node, 601)  # the first instance is past its warm-up
        # 115 is 15 over the threshold: the second step, two more instances.
        breach(115)
        until("the second step", lambda: group()["DesiredCapacity"] == 3)
        # Still breaching while the two warm up: the same step does not launch again
        # (an evaluation's policy call ends before the next evaluation starts).
        breach(116)
        breach(117)
        assert group()["DesiredCapacity"] == 3, "warming instances count once"
        # Once they are warm, a breach that goes on steps again.
        until("all in service", lambda: len(group()["Instances"]) == 3 and all(m["LifecycleState"] == "InService" for m in group()["Instances"]))
        advance(node, 601)
        breach(118)
        until("the next step", lambda: group()["DesiredCapacity"] == 5)
        causes = [a["Cause"] for a in asg.describe_scaling_activities(AutoScalingGroupName=name)["Activities"]]
        assert any(f"monitor alarm {name}-high in state ALARM triggered policy depth changing the desired capacity from 1 to 3" in c for c in causes)
    finally:
        asg.delete_auto_scaling_group(AutoScalingGroupName=name, ForceDelete=True)


def test_zones_are_rebalanced_launching_first(node):
    ec2, asg = client(node, "ec2"), client(node, "autoscaling")
    _, image, lt = subnet_and_template(ec2)
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    by_zone = {}
    for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]:
        by_zone.setdefault(s["AvailabilityZone"], s["SubnetId"])
    (zone_a, subnet_a), (zone_b, subnet_b) = list(by_zone.items())[:2]
    name = f"rebalance-{uuid.uuid4().hex[:6]}"
    asg.create_auto_scaling_group(AutoScalingGroupName=name, MinSize=0, MaxSize=4, DesiredCapacity=4, LaunchTemplate={"LaunchTemplateId": lt["LaunchTemplateId"]},
                                  VPCZoneIdentifier=f"{subnet_a},{subnet_b}")
    group = lambda: asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]
    zones = lambda: sorted(m["AvailabilityZone"] for m in group()["Instances"] if m["LifecycleState"] == "InService")
    try:
        until("two in each zone", lambda: zones() == sorted([zone_a, zone_a, zone_b, zone_b]))
        # Taking both of zone A's instances out (and the capacity with them) leaves B with two, A with none.
        for m in [m for m in group()["Instances"] if m["AvailabilityZone"] == zone_a]:
            asg.terminate_instance_in_auto_scaling_group(InstanceId=m["InstanceId"], ShouldDecrementDesiredCapacity=True)
        until("one in each zone", lambda: zones() == sorted([zone_a, zone_b]) and len(group()["Instances"]) == 2)
        activities = asg.describe_scaling_activities(AutoScalingGroupName=name)["Activities"]
        rebalancing = [a for a in activities if "rebalance" in a["Cause"]]
        assert [a["Description"].split(":")[0] for a in reversed(rebalancing)] == ["Launching a new EC2 instance", "Terminating EC2 instance"], "launched before one is terminated"
        assert group()["DesiredCapacity"] == 2
    finally:
        asg.delete_auto_scaling_group(AutoScalingGroupName=name, ForceDelete=True)
