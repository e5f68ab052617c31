"""EC2 instances that really run (the runtime): user data starts web servers that answer
on the instance's public (loopback) address, security groups decide which ports are
reachable, the instance's filesystem is its own, stop/start/terminate act on the
machine, a dead machine fails its status checks, the metadata service hands the
instance role's credentials to the SDK inside, and CPU shows in CloudWatch.

Needs namespaces (root, as in CI); elsewhere the module is skipped."""

import json
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
import uuid

import boto3
import pytest
from botocore.config import Config

from conftest import Nubo, until

REGION = "us-east-1"
CONFIG = Config(retries={"max_attempts": 1})

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="instances need namespaces: run as root (as CI does)")


@pytest.fixture(scope="module")
def node():
    n = Nubo()
    yield n
    n.stop()


@pytest.fixture(scope="module")
def enforced():
    n = Nubo("--enforce-iam")
    yield n
    n.stop()


def client(n, service, key="test", secret="test"):
    return boto3.client(service, endpoint_url=n.endpoint, region_name=REGION, aws_access_key_id=key,
                        aws_secret_access_key=secret, config=CONFIG)


@pytest.fixture
def ec2(node):
    return client(node, "ec2")


def advance(node, seconds):
    status, _, _ = node.http("POST", "/_nubo/clock", f'{{"advance": "{seconds}s"}}'.encode())
    assert status == 200


def get(url, timeout=2):
    """(status, body) of a GET; None when the connection is refused or reset."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except (ConnectionError, urllib.error.URLError, socket.timeout, OSError):
        return None


def al2023(ec2):
    return ec2.describe_images(Owners=["amazon"], Filters=[{"Name": "name", "Values": ["al2023-ami-*-x86_64"]}])["Images"][0]["ImageId"]


def web_group(ec2, *ports):
    sg = ec2.create_security_group(GroupName=f"web-{uuid.uuid4().hex[:6]}", Description="web")["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": p, "ToPort": p, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]} for p in ports])
    return sg


def console(ec2, instance_id):
    return ec2.get_console_output(InstanceId=instance_id).get("Output", "")


def boot_finished(ec2, instance_id):
    return until("user data to finish", lambda: "Cloud-init v. 22.2.2 finished" in console(ec2, instance_id) and console(ec2, instance_id))


# The seeds' script, unmodified, on Amazon Linux.
SEEDS_HTTPD = """#!/bin/bash
yum update -y
yum install -y httpd
systemctl start httpd
systemctl enable httpd
echo "<h1>Hello from $(hostname -f)</h1>" > /var/www/html/index.html
"""

PYTHON_8080 = """#!/bin/bash
mkdir -p /srv/www && cd /srv/www
echo "<h1>python on $(hostname -f)</h1>" > index.html
nohup python3 -m http.server 8080 > /var/log/web.log 2>&1 &
nohup python3 -m http.server 9090 > /var/log/closed.log 2>&1 &
echo "written by user data" > /etc/nubo-user-data-marker
"""


def test_user_data_web_servers_answer_on_public_addresses_and_only_where_groups_allow(ec2):
    sg = web_group(ec2, 80, 8080)
    image = al2023(ec2)
    # Twice: two instances serving the same ports must not collide.
    launched = ec2.run_instances(ImageId=image, MinCount=2, MaxCount=2, InstanceType="t2.micro", SecurityGroupIds=[sg],
                                 UserData=SEEDS_HTTPD + PYTHON_8080.replace("#!/bin/bash\n", ""))["Instances"]
    try:
        for i in launched:
            ip = i["PublicIpAddress"]
            assert ip.startswith("127."), "public addresses are loopback addresses of the host"
            hostname = f"ip-{i['PrivateIpAddress'].replace('.', '-')}.ec2.internal"
            boot_finished(ec2, i["InstanceId"])
            assert get(f"http://{ip}/") == (200, f"<h1>Hello from {hostname}</h1>\n")
            assert until("python", lambda: get(f"http://{ip}:8080/")) == (200, f"<h1>python on {hostname}</h1>\n")
            # 9090 listens inside but no rule lets it in.
            assert get(f"http://{ip}:9090/") is None
        out = console(ec2, launched[0]["InstanceId"])
        assert "Installed:\n  httpd" in out and "Complete!" in out
        # The instance wrote its own /etc, not the host's.
        assert not os.path.exists("/etc/nubo-user-data-marker")
        # Opening the port later publishes it.
        ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 9090, "ToPort": 9090, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
        ip = launched[0]["PublicIpAddress"]
        assert until("9090 published", lambda: get(f"http://{ip}:9090/"))[0] == 200
    finally:
        ec2.terminate_instances(InstanceIds=[i["InstanceId"] for i in launched])


def test_stop_start_and_terminate_act_on_the_machine_and_user_data_runs_once(ec2, node):
    sg = web_group(ec2, 80, 8080)
    i = ec2.run_instances(ImageId=al2023(ec2), MinCount=1, MaxCount=1, InstanceType="t3.micro", SecurityGroupIds=[sg],
                          UserData=SEEDS_HTTPD + PYTHON_8080.replace("#!/bin/bash\n", ""))["Instances"][0]
    iid, ip = i["InstanceId"], i["PublicIpAddress"]
    until("httpd", lambda: get(f"http://{ip}/"))
    until("python", lambda: get(f"http://{ip}:8080/"))
    boot_finished(ec2, iid)
    ec2.stop_instances(InstanceIds=[iid])
    until("connection refused after stop", lambda: get(f"http://{ip}/") is None)
    advance(node, 10)
    assert ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["State"]["Name"] == "stopped"
    ec2.start_instances(InstanceIds=[iid])
    ip = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["PublicIpAddress"]
    # httpd was enabled: it comes back at boot; user data (which started the python server) does not run again.
    assert until("httpd after start", lambda: get(f"http://{ip}/"))[0] == 200
    assert get(f"http://{ip}:8080/") is None
    assert console(ec2, iid).count("running 'modules:final'") == 1
    ec2.terminate_instances(InstanceIds=[iid])
    until("gone after terminate", lambda: get(f"http://{ip}/") is None)
    advance(node, 10)
    assert ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["State"]["Name"] == "terminated"


def test_a_machine_that_dies_fails_its_status_checks_until_rebooted(ec2):
    sg = web_group(ec2, 80)
    i = ec2.run_instances(ImageId=al2023(ec2), MinCount=1, MaxCount=1, InstanceType="t2.micro", SecurityGroupIds=[sg],
                          UserData=SEEDS_HTTPD)["Instances"][0]
    iid, ip = i["InstanceId"], i["PublicIpAddress"]
    try:
        until("httpd", lambda: get(f"http://{ip}/"))
        status = lambda: ec2.describe_instance_status(InstanceIds=[iid], IncludeAllInstances=True)["InstanceStatuses"][0]
        assert status()["InstanceStatus"]["Status"] in ("ok", "not-applicable")
        # The machine's init dies (as a kernel panic would end a VM).
        subprocess.run(["pkill", "-KILL", "-f", f"__sandbox-init .*/{iid}/boot.json"], check=True)
        s = until("impaired", lambda: status()["InstanceStatus"]["Status"] == "impaired" and status())
        assert s["InstanceStatus"]["Details"][0] == {"Name": "reachability", "Status": "failed", "ImpairedSince": s["InstanceStatus"]["Details"][0]["ImpairedSince"]}
        assert s["SystemStatus"]["Status"] == "ok"
        assert get(f"http://{ip}/") is None
        ec2.reboot_instances(InstanceIds=[iid])
        assert until("httpd after reboot", lambda: get(f"http://{ip}/"))[0] == 200
        assert status()["InstanceStatus"]["Status"] == "ok"
    finally:
        ec2.terminate_instances(InstanceIds=[iid])


def test_guest_poweroff_stops_the_instance(ec2, node):
    i = ec2.run_instances(ImageId=al2023(ec2), MinCount=1, MaxCount=1, InstanceType="t2.micro",
                          UserData="#!/bin/sh\necho going down\npoweroff\n")["Instances"][0]
    iid = i["InstanceId"]
    state = lambda: ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    until("stopping", lambda: state()["State"]["Name"] in ("stopping", "stopped"))
    advance(node, 10)
    assert state()["State"]["Name"] == "stopped"
    assert state()["StateReason"]["Code"] == "Client.InstanceInitiatedShutdown"


METADATA_PROBE = """#!/bin/sh
TOKEN=$(python3 - <<'PY'
import urllib.request
r = urllib.request.Request("http://169.254.169.254/latest/api/token", method="PUT", headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})
print(urllib.request.urlopen(r).read().decode())
PY
)
for p in instance-id local-ipv4 placement/availability-zone instance-type iam/security-credentials/; do
  python3 -c "import sys,urllib.request; r=urllib.request.Request('http://169.254.169.254/latest/meta-data/'+sys.argv[1], headers={'X-aws-ec2-metadata-token': sys.argv[2]}); print('META', sys.argv[1], urllib.request.urlopen(r).read().decode().replace(chr(10), ','))" $p "$TOKEN"
done
{python} - <<'PY'
import boto3
s3 = boto3.client("s3")
s3.put_object(Bucket="{allowed}", Key="from-instance.txt", Body=b"written with the instance role")
print("PUT-ALLOWED ok")
try:
    s3.put_object(Bucket="{other}", Key="from-instance.txt", Body=b"no")
    print("PUT-OTHER ok")
except Exception as e:
    print("PUT-OTHER", type(e).__name__, getattr(e, "response", {{}}).get("Error", {{}}).get("Code"))
print("CALLER", boto3.client("sts").get_caller_identity()["Arn"])
PY
"""


def instance_role(n, allowed_bucket):
    iam = client(n, "iam")
    name = f"web-{uuid.uuid4().hex[:6]}"
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
    iam.put_role_policy(RoleName=name, PolicyName="s3", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{allowed_bucket}/*"},
        {"Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"}]}))
    iam.create_instance_profile(InstanceProfileName=name)
    iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
    return name


@pytest.mark.parametrize("enforcing", [False, True], ids=["open", "enforce-iam"])
def test_the_sdk_inside_an_instance_uses_its_role_from_the_metadata_service(request, enforcing):
    n = request.getfixturevalue("enforced" if enforcing else "node")
    ec2, s3 = client(n, "ec2"), client(n, "s3")
    allowed, other = f"allowed-{uuid.uuid4().hex[:8]}", f"other-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=allowed)
    s3.create_bucket(Bucket=other)
    profile = instance_role(n, allowed)
    user_data = METADATA_PROBE.replace("{python}", sys.executable).replace("{allowed}", allowed).replace("{other}", other).replace("{{}}", "{}")
    i = ec2.run_instances(ImageId=al2023(ec2), MinCount=1, MaxCount=1, InstanceType="t2.micro",
                          IamInstanceProfile={"Name": profile}, UserData=user_data)["Instances"][0]
    try:
        out = boot_finished(ec2, i["InstanceId"])
        assert f"META instance-id {i['InstanceId']}" in out, out
        assert f"META local-ipv4 {i['PrivateIpAddress']}" in out
        assert f"META placement/availability-zone {i['Placement']['AvailabilityZone']}" in out
        assert f"META iam/security-credentials/ {profile}" in out
        assert "PUT-ALLOWED ok" in out, out
        assert s3.get_object(Bucket=allowed, Key="from-instance.txt")["Body"].read() == b"written with the instance role"
        assert f"CALLER arn:aws:sts::000000000000:assumed-role/{profile}/{i['InstanceId']}" in out
        if enforcing:
            assert "PUT-OTHER" in out and "PUT-OTHER ok" not in out and " AccessDenied" in out.split("PUT-OTHER")[1].split("\n")[0], out
        else:
            assert "PUT-OTHER ok" in out, out
    finally:
        ec2.terminate_instances(InstanceIds=[i["InstanceId"]])


def test_a_cpu_burning_instance_shows_high_cpu_utilization(ec2, node):
    cw = client(node, "cloudwatch")
    i = ec2.run_instances(ImageId=al2023(ec2), MinCount=1, MaxCount=1, InstanceType="t2.micro",
                          UserData="#!/bin/sh\necho burning\nexec timeout 60 sh -c 'while :; do :; done'\n")["Instances"][0]
    iid = i["InstanceId"]
    try:
        until("the burn to start", lambda: "burning" in console(ec2, iid))

        def cpu():
            advance(node, 60)
            data = cw.get_metric_data(StartTime="2000-01-01T00:00:00Z", EndTime="2100-01-01T00:00:00Z", MetricDataQueries=[{
                "Id": "cpu", "MetricStat": {"Metric": {"Namespace": "AWS/EC2", "MetricName": "CPUUtilization",
                                                       "Dimensions": [{"Name": "InstanceId", "Value": iid}]},
                                            "Period": 60, "Stat": "Maximum"}}])["MetricDataResults"][0]["Values"]
            return data and max(data) > 60 and max(data)

        assert until("CPUUtilization near 100%", cpu, timeout=30) <= 100
    finally:
        ec2.terminate_instances(InstanceIds=[iid])


def test_the_cli_runs_an_instance_with_user_data_from_a_file_and_reads_its_console(node, tmp_path):
    script = tmp_path / "user-data.sh"
    script.write_text("#!/bin/bash\necho \"hello from $(hostname)\"\n")
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": REGION}
    aws = [sys.executable, "-m", "awscli", "--endpoint-url", node.endpoint, "--output", "json", "ec2"]
    image = al2023(client(node, "ec2"))
    out = json.loads(subprocess.run(aws + ["run-instances", "--image-id", image, "--instance-type", "t2.micro",
                                           "--user-data", f"file://{script}"], env=env, check=True, capture_output=True, text=True).stdout)
    iid, private = out["Instances"][0]["InstanceId"], out["Instances"][0]["PrivateIpAddress"]

    def console_text():
        r = subprocess.run(aws + ["get-console-output", "--instance-id", iid], env=env, check=True, capture_output=True, text=True)
        return json.loads(r.stdout).get("Output", "")

    text = until("the console", lambda: "finished" in console_text() and console_text())
    assert f"hello from ip-{private.replace('.', '-')}.ec2.internal" in text
    subprocess.run(aws + ["terminate-instances", "--instance-ids", iid], env=env, check=True, capture_output=True)


def test_running_instances_come_back_after_nubo_is_killed(tmp_path):
    first = Nubo(data_dir=str(tmp_path))
    ec2 = client(first, "ec2")
    sg = web_group(ec2, 80)
    i = ec2.run_instances(ImageId=al2023(ec2), MinCount=1, MaxCount=1, InstanceType="t2.micro", SecurityGroupIds=[sg],
                          UserData=SEEDS_HTTPD)["Instances"][0]
    iid, ip = i["InstanceId"], i["PublicIpAddress"]
    boot_finished(ec2, iid)
    assert get(f"http://{ip}/")[0] == 200
    first.proc.kill()  # kill -9: its machines die with it
    first.proc.wait()
    until("the machine to die with nubo", lambda: get(f"http://{ip}/") is None)
    second = Nubo(data_dir=str(tmp_path))
    try:
        ec2 = client(second, "ec2")
        # Booted again from its root volume: httpd was enabled, user data does not run again.
        assert until("httpd after nubo's restart", lambda: get(f"http://{ip}/")) == (200, f"<h1>Hello from ip-{i['PrivateIpAddress'].replace('.', '-')}.ec2.internal</h1>\n")
        assert console(ec2, iid).count("running 'modules:final'") == 1
        ec2.terminate_instances(InstanceIds=[iid])
    finally:
        second.stop()


def test_an_ami_made_from_an_instance_boots_with_what_it_installed(ec2, node):
    sg = web_group(ec2, 80)
    source = ec2.run_instances(ImageId=al2023(ec2), MinCount=1, MaxCount=1, InstanceType="t2.micro", SecurityGroupIds=[sg],
                               UserData=SEEDS_HTTPD)["Instances"][0]
    boot_finished(ec2, source["InstanceId"])
    source_page = get(f"http://{source['PublicIpAddress']}/")
    image = ec2.create_image(InstanceId=source["InstanceId"], Name=f"web-{uuid.uuid4().hex[:6]}")["ImageId"]
    advance(node, 120)  # the image becomes available on nubo's clock
    copy = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t2.micro", SecurityGroupIds=[sg],
                             UserData="#!/bin/sh\necho the copy ran its own user data\n")["Instances"][0]
    try:
        # httpd was installed and enabled in the image: it serves the source's page at boot.
        assert until("httpd in the copy", lambda: get(f"http://{copy['PublicIpAddress']}/")) == source_page
        assert "the copy ran its own user data" in boot_finished(ec2, copy["InstanceId"])
    finally:
        ec2.terminate_instances(InstanceIds=[source["InstanceId"], copy["InstanceId"]])


RESOLVE_OWN_NAME = """#!/bin/bash
python3 - <<'PY'
import socket, urllib.request
name = urllib.request.urlopen("http://169.254.169.254/latest/meta-data/public-hostname").read().decode()
print("RESOLVED", name, socket.gethostbyname(name))
PY
"""


def test_instances_resolve_names_with_nubos_dns_as_the_host_does(ec2, node):
    import json
    import socket
    launched = ec2.run_instances(ImageId=al2023(ec2), MinCount=1, MaxCount=1, InstanceType="t2.micro", UserData=RESOLVE_OWN_NAME)["Instances"][0]
    try:
        name, ip = launched["PublicDnsName"], launched["PublicIpAddress"]
        out = boot_finished(ec2, launched["InstanceId"])
        assert f"RESOLVED {name} {ip}" in out, out
        # The host asks nubo's DNS (beside the API) the same.
        server = json.loads(node.http("GET", "/_nubo/health")[2])["dns"]
        host, port = server.rsplit(":", 1)
        query = b"\x00\x07\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00" + b"".join(bytes([len(x)]) + x.encode() for x in name.split(".")) + b"\x00\x00\x01\x00\x01"
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(3)
            s.sendto(query, (host, int(port)))
            reply = s.recv(512)
        assert reply[3] & 0x0F == 0 and ".".join(str(b) for b in reply[-4:]) == ip
    finally:
        ec2.terminate_instances(InstanceIds=[launched["InstanceId"]])
