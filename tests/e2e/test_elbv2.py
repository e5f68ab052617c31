"""Elastic Load Balancing v2 through boto3 and the AWS CLI: ALBs and NLBs that really carry
traffic. Targets are small HTTP servers the tests start on loopback (`ip` targets, a
nubo extension), or EC2 instances that really run. nubo's clock drives health checks
and deregistration; each test waits on the condition it needs, never on a fixed sleep."""

import http.server
import json
import os
import socket
import socketserver
import subprocess
import sys
import threading
import urllib.error
import urllib.request
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import Nubo, dns_query, until

REGION = "us-east-1"
CONFIG = Config(retries={"max_attempts": 1})

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="load balancers listen on port 80 of loopback addresses: run as root (as CI does)")


@pytest.fixture(scope="module")
def node():
    n = Nubo()
    yield n
    n.stop()


def client(n, service):
    return boto3.client(service, endpoint_url=n.endpoint, region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test", config=CONFIG)


@pytest.fixture
def elb(node):
    return client(node, "elbv2")


@pytest.fixture
def ec2(node):
    return client(node, "ec2")


def advance(node, seconds):
    status, _, _ = node.http("POST", "/_nubo/clock", f'{{"advance": "{seconds}s"}}'.encode())
    assert status == 200


class Backend:
    """A small HTTP server on loopback that answers with its name and what it was sent."""

    def __init__(self, name, port=0, cookie=None):
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = json.dumps({"name": outer.name, "path": self.path, "xff": self.headers.get("X-Forwarded-For"),
                                   "proto": self.headers.get("X-Forwarded-Proto"), "trace": self.headers.get("X-Amzn-Trace-Id"),
                                   "host": self.headers.get("Host")}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                if cookie:
                    self.send_header("Set-Cookie", f"{cookie}={outer.name}; Path=/")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            allow_reuse_address = True
            daemon_threads = True

        self.name = name
        self.server = Server(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def default_vpc(ec2):
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]][:2]
    return vpc, subnets


def open_group(ec2, vpc, *ports):
    sg = ec2.create_security_group(GroupName=f"alb-{uuid.uuid4().hex[:6]}", Description="alb", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": p, "ToPort": p, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]} for p in ports])
    return sg


def alb(elb, ec2, port=80, **tg_args):
    """An internet-facing ALB with an HTTP listener forwarding to a new ip target group."""
    vpc, subnets = default_vpc(ec2)
    sg = open_group(ec2, vpc, port)
    lb = elb.create_load_balancer(Name=f"web-{uuid.uuid4().hex[:8]}", Subnets=subnets, SecurityGroups=[sg])["LoadBalancers"][0]
    tg = elb.create_target_group(Name=f"tg-{uuid.uuid4().hex[:8]}", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip", **tg_args)["TargetGroups"][0]
    listener = elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=port,
                                   DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}])["Listeners"][0]
    return lb, tg, listener


def address(lb):
    return lb["AvailabilityZones"][0]["LoadBalancerAddresses"][0]["IpAddress"]


def get(url, headers=None, timeout=5):
    req = urllib.request.Request(url, headers=headers or {})
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(req, timeout=timeout) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def health(elb, tg):
    return {f"{d['Target']['Id']}:{d['Target']['Port']}": d["TargetHealth"] for d in elb.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]}


def test_an_alb_round_robins_between_ip_targets_and_tells_them_the_client(elb, ec2, node):
    a, b = Backend("a"), Backend("b")
    lb, tg, _ = alb(elb, ec2)
    try:
        assert lb["DNSName"].endswith(".us-east-1.elb.localhost") and lb["Type"] == "application" and lb["State"]["Code"] == "active"
        elb.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": "127.0.0.1", "Port": a.port}, {"Id": "127.0.0.1", "Port": b.port}])
        seen = [json.loads(get(f"http://{address(lb)}/hello?x=1")[2]) for _ in range(4)]
        assert sorted(s["name"] for s in seen) == ["a", "a", "b", "b"]
        assert [s["name"] for s in seen[:2]] != [seen[0]["name"]] * 2, "round robin alternates"
        assert seen[0]["xff"] == "127.0.0.1" and seen[0]["proto"] == "http" and seen[0]["trace"].startswith("Root=1-")
        assert seen[0]["path"] == "/hello?x=1"
        # Through nubo's own port, by the load balancer's DNS name in the Host header.
        status, headers, body = get(node.endpoint + "/via-main-port", headers={"Host": lb["DNSName"]})
        assert status == 200 and json.loads(body)["path"] == "/via-main-port"
        # The minute's figures reach CloudWatch with AWS's names and dimensions.
        cw = client(node, "cloudwatch")
        dim = lb["LoadBalancerArn"].split(":loadbalancer/")[1]

        def requests():
            advance(node, 60)
            points = cw.get_metric_statistics(Namespace="AWS/ApplicationELB", MetricName="RequestCount", Dimensions=[{"Name": "LoadBalancer", "Value": dim}],
                                              StartTime="2000-01-01T00:00:00Z", EndTime="2100-01-01T00:00:00Z", Period=86400 * 365, Statistics=["Sum"])["Datapoints"]
            return sum(p["Sum"] for p in points)

        assert until("RequestCount in CloudWatch", lambda: requests() >= 5)
        # Health: both targets pass their checks once the clock moves through the thresholds.
        # (each look moves the clock one interval on: a check may still be under way when it moves)
        until("healthy targets", lambda: advance(node, 30) or all(h["State"] == "healthy" for h in health(elb, tg["TargetGroupArn"]).values()))
    finally:
        a.stop()
        b.stop()
        elb.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])


def test_rules_route_by_path_and_host_and_answer_fixed_responses_and_redirects(elb, ec2):
    web, api = Backend("web"), Backend("api")
    lb, tg, listener = alb(elb, ec2)
    vpc, _ = default_vpc(ec2)
    api_tg = elb.create_target_group(Name=f"api-{uuid.uuid4().hex[:8]}", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip")["TargetGroups"][0]
    try:
        elb.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": "127.0.0.1", "Port": web.port}])
        elb.register_targets(TargetGroupArn=api_tg["TargetGroupArn"], Targets=[{"Id": "127.0.0.1", "Port": api.port}])
        arn = listener["ListenerArn"]
        elb.create_rule(ListenerArn=arn, Priority=10, Conditions=[{"Field": "path-pattern", "Values": ["/api/*"]}],
                        Actions=[{"Type": "forward", "TargetGroupArn": api_tg["TargetGroupArn"]}])
        elb.create_rule(ListenerArn=arn, Priority=20, Conditions=[{"Field": "host-header", "HostHeaderConfig": {"Values": ["api.example.com"]}}],
                        Actions=[{"Type": "forward", "TargetGroupArn": api_tg["TargetGroupArn"]}])
        elb.create_rule(ListenerArn=arn, Priority=30, Conditions=[{"Field": "path-pattern", "Values": ["/health"]}],
                        Actions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200", "ContentType": "text/plain", "MessageBody": "ok"}}])
        elb.create_rule(ListenerArn=arn, Priority=40, Conditions=[{"Field": "path-pattern", "Values": ["/old/*"]}],
                        Actions=[{"Type": "redirect", "RedirectConfig": {"Path": "/new/#{path}", "StatusCode": "HTTP_301"}}])
        with pytest.raises(ClientError) as e:
            elb.create_rule(ListenerArn=arn, Priority=10, Conditions=[{"Field": "path-pattern", "Values": ["/x"]}],
                            Actions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}])
        assert e.value.response["Error"]["Code"] == "PriorityInUse"
        rules = elb.describe_rules(ListenerArn=arn)["Rules"]
        assert [r["Priority"] for r in rules] == ["10", "20", "30", "40", "default"] and rules[-1]["IsDefault"]
        base = f"http://{address(lb)}"
        assert json.loads(get(base + "/api/users")[2])["name"] == "api"
        assert json.loads(get(base + "/", headers={"Host": "api.example.com"})[2])["name"] == "api"
        assert json.loads(get(base + "/index.html")[2])["name"] == "web"
        status, headers, body = get(base + "/health")
        assert (status, body, headers["Content-Type"], headers["Server"]) == (200, "ok", "text/plain", "awselb/2.0")
        status, headers, _ = get(base + "/old/page?q=1", headers={"Host": "shop.example.com"})
        assert status == 301 and headers["Location"] == "http://shop.example.com/new/old/page?q=1"
    finally:
        web.stop()
        api.stop()
        elb.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])


def test_a_dead_target_leaves_rotation_within_the_thresholds_and_comes_back(elb, ec2, node):
    a, b = Backend("a"), Backend("b")
    lb, tg, _ = alb(elb, ec2, HealthCheckIntervalSeconds=10, HealthyThresholdCount=2, UnhealthyThresholdCount=2, HealthCheckPath="/ping")
    arn = tg["TargetGroupArn"]
    try:
        elb.register_targets(TargetGroupArn=arn, Targets=[{"Id": "127.0.0.1", "Port": a.port}, {"Id": "127.0.0.1", "Port": b.port}])
        ta, tb = f"127.0.0.1:{a.port}", f"127.0.0.1:{b.port}"
        until("initial checks", lambda: health(elb, arn)[ta]["Reason"] == "Elb.InitialHealthChecking")
        step = lambda: advance(node, 10)  # one interval on; a check under way may finish after the clock moved
        until("both healthy", lambda: step() or all(h["State"] == "healthy" for h in health(elb, arn).values()))
        a.stop()
        h = until("a unhealthy", lambda: step() or (health(elb, arn)[ta]["State"] == "unhealthy" and health(elb, arn)[ta]))
        assert h["Reason"] == "Target.FailedHealthChecks"
        assert all(json.loads(get(f"http://{address(lb)}/")[2])["name"] == "b" for _ in range(4))
        a = Backend("a", port=a.port)
        until("a healthy again", lambda: step() or health(elb, arn)[ta]["State"] == "healthy")
        assert {json.loads(get(f"http://{address(lb)}/")[2])["name"] for _ in range(4)} == {"a", "b"}
        assert health(elb, arn)[tb]["State"] == "healthy"
    finally:
        a.stop()
        b.stop()
        elb.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])


def test_stickiness_keeps_a_client_on_one_target_and_deregistration_drains(elb, ec2, node):
    a, b = Backend("a"), Backend("b")
    lb, tg, _ = alb(elb, ec2)
    arn = tg["TargetGroupArn"]
    try:
        elb.modify_target_group_attributes(TargetGroupArn=arn, Attributes=[
            {"Key": "stickiness.enabled", "Value": "true"}, {"Key": "stickiness.type", "Value": "lb_cookie"},
            {"Key": "deregistration_delay.timeout_seconds", "Value": "30"}])
        attrs = {x["Key"]: x["Value"] for x in elb.describe_target_group_attributes(TargetGroupArn=arn)["Attributes"]}
        assert attrs["stickiness.enabled"] == "true" and attrs["stickiness.lb_cookie.duration_seconds"] == "86400"
        with pytest.raises(ClientError) as e:
            elb.modify_target_group_attributes(TargetGroupArn=arn, Attributes=[{"Key": "no.such.key", "Value": "1"}])
        assert e.value.response["Error"]["Code"] == "ValidationError"
        elb.register_targets(TargetGroupArn=arn, Targets=[{"Id": "127.0.0.1", "Port": a.port}, {"Id": "127.0.0.1", "Port": b.port}])
        status, headers, body = get(f"http://{address(lb)}/")
        cookie = headers["Set-Cookie"].split(";")[0]
        assert cookie.startswith("AWSALB=")
        first = json.loads(body)["name"]
        assert all(json.loads(get(f"http://{address(lb)}/", headers={"Cookie": cookie})[2])["name"] == first for _ in range(5))
        # Deregistration: the target drains (no new requests), then is gone after the delay.
        port = a.port if first == "a" else b.port
        elb.deregister_targets(TargetGroupArn=arn, Targets=[{"Id": "127.0.0.1", "Port": port}])
        assert health(elb, arn)[f"127.0.0.1:{port}"]["State"] == "draining"
        assert json.loads(get(f"http://{address(lb)}/", headers={"Cookie": cookie})[2])["name"] != first
        advance(node, 31)
        until("the drained target gone", lambda: f"127.0.0.1:{port}" not in health(elb, arn))
    finally:
        a.stop()
        b.stop()
        elb.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])


def test_no_registered_target_answers_503_and_an_unreachable_one_502(elb, ec2):
    lb, tg, _ = alb(elb, ec2)
    try:
        status, headers, body = get(f"http://{address(lb)}/")
        assert status == 503 and "503 Service Temporarily Unavailable" in body and headers["Server"] == "awselb/2.0"
        dead = Backend("dead")
        dead.stop()
        elb.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": "127.0.0.1", "Port": dead.port}])
        assert get(f"http://{address(lb)}/")[0] == 502
    finally:
        elb.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])


def test_an_nlb_forwards_raw_tcp(elb, ec2):
    vpc, subnets = default_vpc(ec2)
    echo = socket.socket()
    echo.bind(("127.0.0.1", 0))
    echo.listen()

    def serve():
        while True:
            try:
                conn, _ = echo.accept()
            except OSError:
                return
            data = conn.recv(100)
            conn.sendall(b"echo:" + data)
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    lb = elb.create_load_balancer(Name=f"nlb-{uuid.uuid4().hex[:8]}", Subnets=subnets, Type="network")["LoadBalancers"][0]
    try:
        assert lb["Type"] == "network" and ".elb.us-east-1.localhost" in lb["DNSName"]
        tg = elb.create_target_group(Name=f"tcp-{uuid.uuid4().hex[:8]}", Protocol="TCP", Port=7000, VpcId=vpc, TargetType="ip")["TargetGroups"][0]
        assert tg["HealthCheckProtocol"] == "TCP"
        elb.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": "127.0.0.1", "Port": echo.getsockname()[1]}])
        elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="TCP", Port=7000, DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}])

        def roundtrip():
            try:
                with socket.create_connection((address(lb), 7000), timeout=2) as s:
                    s.sendall(b"ping")
                    return s.recv(100)
            except OSError:
                return None

        assert until("the NLB", roundtrip) == b"echo:ping"
    finally:
        echo.close()
        elb.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])


def test_validation_errors_are_awss(elb, ec2):
    vpc, subnets = default_vpc(ec2)
    with pytest.raises(ClientError) as e:
        elb.create_load_balancer(Name="one-subnet", Subnets=subnets[:1])
    assert e.value.response["Error"]["Code"] == "InvalidConfigurationRequest"
    with pytest.raises(ClientError) as e:
        elb.create_load_balancer(Name="bad", Subnets=["subnet-00000000"])
    assert e.value.response["Error"]["Code"] == "SubnetNotFound"
    with pytest.raises(ClientError) as e:
        elb.describe_load_balancers(Names=["nope"])
    assert e.value.response["Error"]["Code"] == "LoadBalancerNotFound"
    with pytest.raises(ClientError) as e:
        elb.describe_target_groups(TargetGroupArns=["arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/x/0123456789abcdef"])
    assert e.value.response["Error"]["Code"] == "TargetGroupNotFound"
    tg = elb.create_target_group(Name=f"v-{uuid.uuid4().hex[:8]}", Protocol="HTTP", Port=80, VpcId=vpc)["TargetGroups"][0]
    assert (tg["HealthCheckIntervalSeconds"], tg["HealthCheckTimeoutSeconds"], tg["HealthyThresholdCount"], tg["UnhealthyThresholdCount"], tg["Matcher"]["HttpCode"]) == (30, 5, 5, 2, "200")
    with pytest.raises(ClientError) as e:
        elb.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": "i-0123456789abcdef0"}])
    assert e.value.response["Error"]["Code"] == "InvalidTarget"


def test_the_cli_describes_what_boto3_made(elb, ec2, node):
    lb, tg, listener = alb(elb, ec2)
    try:
        env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": REGION}
        aws = [sys.executable, "-m", "awscli", "--endpoint-url", node.endpoint, "--output", "json", "elbv2"]
        out = json.loads(subprocess.run(aws + ["describe-load-balancers", "--names", lb["LoadBalancerName"]], env=env, check=True, capture_output=True, text=True).stdout)
        assert out["LoadBalancers"][0]["DNSName"] == lb["DNSName"]
        out = json.loads(subprocess.run(aws + ["describe-listeners", "--load-balancer-arn", lb["LoadBalancerArn"]], env=env, check=True, capture_output=True, text=True).stdout)
        assert out["Listeners"][0]["Port"] == 80 and out["Listeners"][0]["DefaultActions"][0]["TargetGroupArn"] == tg["TargetGroupArn"]
    finally:
        elb.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])


HOSTNAME_SERVER = """#!/bin/bash
mkdir -p /srv && cd /srv && echo "hello from $(hostname -f)" > index.html
nohup python3 -m http.server 80 > /dev/null 2>&1 &
"""


def test_two_instances_behind_an_alb_answer_in_turn_through_its_dns_name(elb, ec2, node):
    vpc, subnets = default_vpc(ec2)
    image = ec2.describe_images(Owners=["amazon"], Filters=[{"Name": "name", "Values": ["al2023-ami-*-x86_64"]}])["Images"][0]["ImageId"]
    instances = [ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t2.micro", SubnetId=s, UserData=HOSTNAME_SERVER)["Instances"][0] for s in subnets]
    sg = open_group(ec2, vpc, 80)
    lb = elb.create_load_balancer(Name=f"seeds-{uuid.uuid4().hex[:8]}", Subnets=subnets, SecurityGroups=[sg])["LoadBalancers"][0]
    tg = elb.create_target_group(Name=f"web-{uuid.uuid4().hex[:8]}", Protocol="HTTP", Port=80, VpcId=vpc)["TargetGroups"][0]
    elb.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": i["InstanceId"]} for i in instances])
    elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80, DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}])
    try:
        port = node.endpoint.rsplit(":", 1)[1]

        def curl():
            p = subprocess.run(["curl", "-s", "--max-time", "2", f"http://{lb['DNSName']}:{port}/"], capture_output=True, text=True)
            return p.stdout if p.returncode == 0 and p.stdout.startswith("hello from") else None

        answers = {until("an instance behind the ALB", curl) for _ in range(1)}
        answers |= {until("the other instance", curl) for _ in range(3)}
        assert answers == {f"hello from ip-{i['PrivateIpAddress'].replace('.', '-')}.ec2.internal\n" for i in instances}
    finally:
        elb.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])
        ec2.terminate_instances(InstanceIds=[i["InstanceId"] for i in instances])


def test_an_https_listener_serves_tls_with_an_acm_certificate_the_client_trusts(elb, ec2, node, tmp_path):
    import ssl
    acm = client(node, "acm")
    backend = Backend("secure")
    vpc, subnets = default_vpc(ec2)
    sg = open_group(ec2, vpc, 443)
    lb = elb.create_load_balancer(Name=f"tls-{uuid.uuid4().hex[:8]}", Subnets=subnets, SecurityGroups=[sg])["LoadBalancers"][0]
    tg = elb.create_target_group(Name=f"tls-{uuid.uuid4().hex[:8]}", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip")["TargetGroups"][0]
    try:
        elb.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": "127.0.0.1", "Port": backend.port}])
        cert = acm.request_certificate(DomainName="*.us-east-1.elb.localhost", ValidationMethod="DNS")["CertificateArn"]
        detail = acm.describe_certificate(CertificateArn=cert)["Certificate"]
        assert detail["Status"] == "ISSUED" and detail["Type"] == "AMAZON_ISSUED" and detail["DomainValidationOptions"][0]["ValidationStatus"] == "SUCCESS"
        with pytest.raises(ClientError) as e:
            elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTPS", Port=443, Certificates=[{"CertificateArn": cert + "-nope"}],
                                DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}])
        assert e.value.response["Error"]["Code"] == "CertificateNotFound"
        listener = elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTPS", Port=443, Certificates=[{"CertificateArn": cert}],
                                       DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}])["Listeners"][0]
        assert listener["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
        # The client trusts nubo's CA, exported at /_nubo/acm/ca.pem.
        status, _, pem = node.http("GET", "/_nubo/acm/ca.pem")
        assert status == 200 and pem.startswith(b"-----BEGIN CERTIFICATE-----")
        ca = tmp_path / "nubo-ca.pem"
        ca.write_bytes(pem)
        context = ssl.create_default_context(cafile=str(ca))

        def fetch():
            try:
                with socket.create_connection((address(lb), 443), timeout=3) as raw, context.wrap_socket(raw, server_hostname=lb["DNSName"]) as s:
                    s.sendall(f"GET /secret HTTP/1.1\r\nHost: {lb['DNSName']}\r\nConnection: close\r\n\r\n".encode())
                    data = b""
                    while chunk := s.recv(4096):
                        data += chunk
                    return data.decode()
            except (OSError, ssl.SSLError):
                return None

        answer = until("TLS through the ALB", fetch)
        assert answer.startswith("HTTP/1.1 200")
        seen = json.loads(answer.split("\r\n\r\n", 1)[1])
        assert seen["name"] == "secure" and seen["proto"] == "https" and seen["path"] == "/secret"
        with pytest.raises(ClientError) as e:
            acm.delete_certificate(CertificateArn=cert)
        assert e.value.response["Error"]["Code"] == "ResourceInUseException"
    finally:
        backend.stop()
        elb.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_front_door_and_nubos_dns_reach_an_alb_by_its_name(elb, ec2, node):
    backend = Backend("front")
    port = free_port()
    lb, tg, _ = alb(elb, ec2, port=port)
    try:
        elb.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": "127.0.0.1", "Port": backend.port}])
        name = lb["DNSName"]
        assert name.endswith(".us-east-1.elb.localhost")
        status, _, body = node.http("GET", "/_nubo/health")
        report = json.loads(body)
        assert report["front_door"][str(port)].startswith(f"listening on 127.0.0.1:{port}")
        # curl resolves every *.localhost name to 127.0.0.1, where the door routes by Host.
        out = subprocess.run(["curl", "-s", "--max-time", "5", f"http://{name}:{port}/door"], capture_output=True, text=True)
        seen = json.loads(out.stdout)
        assert seen["name"] == "front" and seen["path"] == "/door" and seen["xff"] == "127.0.0.1"
        status, _, body = get(f"http://127.0.0.1:{port}/", headers={"Host": "nobody.us-east-1.elb.localhost"})
        assert status == 200, "the only load balancer on the port takes a Host it does not know"
        # nubo's DNS (UDP, beside the API) knows the load balancer's own address.
        rcode, addresses = dns_query(report["dns"], name)
        assert rcode == 0 and addresses == [address(lb)]
        assert dns_query(report["dns"], "nobody-1.us-east-1.elb.localhost")[0] == 3
        assert dns_query(report["dns"], "example.com")[0] == 5
        assert dns_query(report["dns"], name, qtype=28) == (0, [])
    finally:
        backend.stop()
        elb.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])
    status, _, body = node.http("GET", "/_nubo/health")
    assert str(port) not in json.loads(body)["front_door"]


def test_app_cookie_and_target_group_stickiness(elb, ec2):
    a, b = Backend("a", cookie="SESSION"), Backend("b", cookie="SESSION")
    c = Backend("c")
    lb, tg, listener = alb(elb, ec2)
    vpc, _ = default_vpc(ec2)
    arn = tg["TargetGroupArn"]
    other = elb.create_target_group(Name=f"tg-{uuid.uuid4().hex[:8]}", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
    url = f"http://{address(lb)}/"
    try:
        elb.modify_target_group_attributes(TargetGroupArn=arn, Attributes=[
            {"Key": "stickiness.enabled", "Value": "true"}, {"Key": "stickiness.type", "Value": "app_cookie"},
            {"Key": "stickiness.app_cookie.cookie_name", "Value": "SESSION"}])
        elb.register_targets(TargetGroupArn=arn, Targets=[{"Id": "127.0.0.1", "Port": a.port}, {"Id": "127.0.0.1", "Port": b.port}])
        elb.register_targets(TargetGroupArn=other, Targets=[{"Id": "127.0.0.1", "Port": c.port}])
        # The application sets its cookie; the load balancer pairs AWSALBAPP-0 with it.
        _, headers, body = get(url)
        cookies = [v.split(";")[0] for v in headers.get_all("Set-Cookie")]
        app = [x for x in cookies if x.startswith("AWSALBAPP-0=")]
        assert app and any(x.startswith("SESSION=") for x in cookies)
        first = json.loads(body)["name"]
        assert all(json.loads(get(url, headers={"Cookie": app[0]})[2])["name"] == first for _ in range(5))
        # Weighted forwarding with group stickiness: AWSALBTG keeps a client on one group.
        elb.modify_listener(ListenerArn=listener["ListenerArn"], DefaultActions=[{"Type": "forward", "ForwardConfig": {
            "TargetGroups": [{"TargetGroupArn": arn, "Weight": 1}, {"TargetGroupArn": other, "Weight": 1}],
            "TargetGroupStickinessConfig": {"Enabled": True, "DurationSeconds": 600}}}])
        _, headers, body = get(url)
        group_cookie = next(v.split(";")[0] for v in headers.get_all("Set-Cookie") if v.startswith("AWSALBTG="))
        in_c = json.loads(body)["name"] == "c"
        names = {json.loads(get(url, headers={"Cookie": group_cookie})[2])["name"] for _ in range(8)}
        assert names == {"c"} if in_c else "c" not in names
        # Without the cookie both groups serve.
        until("both groups serving", lambda: {"c"} < {json.loads(get(url)[2])["name"] for _ in range(12)})
    finally:
        for x in (a, b, c):
            x.stop()
        elb.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])


def test_access_logs_reach_s3_in_albs_format_every_five_minutes(elb, ec2, node):
    import gzip
    s3 = client(node, "s3")
    backend = Backend("logged")
    lb, tg, _ = alb(elb, ec2)
    arn = lb["LoadBalancerArn"]
    bucket = f"alb-logs-{uuid.uuid4().hex[:8]}"
    enable = [{"Key": "access_logs.s3.enabled", "Value": "true"}, {"Key": "access_logs.s3.bucket", "Value": bucket},
              {"Key": "access_logs.s3.prefix", "Value": "web"}]
    try:
        with pytest.raises(ClientError) as e:
            elb.modify_load_balancer_attributes(LoadBalancerArn=arn, Attributes=enable)
        assert e.value.response["Error"]["Code"] == "InvalidConfigurationRequest"
        assert e.value.response["Error"]["Message"] == f"Access Denied for bucket: {bucket}. Please check S3bucket permission"
        s3.create_bucket(Bucket=bucket)
        elb.modify_load_balancer_attributes(LoadBalancerArn=arn, Attributes=enable)
        until("the test file", lambda: s3.list_objects_v2(Bucket=bucket, Prefix="web/AWSLogs/000000000000/ELBAccessLogTestFile").get("KeyCount"))
        elb.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": "127.0.0.1", "Port": backend.port}])
        for i in range(3):
            assert get(f"http://{address(lb)}/page/{i}?q=1", headers={"User-Agent": "nubo-test"})[0] == 200
        advance(node, 300)
        prefix = "web/AWSLogs/000000000000/elasticloadbalancing/us-east-1/"
        keys = until("a log file", lambda: [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])])
        name = keys[0].rsplit("/", 1)[1]
        lb_id = arn.split("loadbalancer/")[1].replace("/", ".")
        assert name.startswith(f"000000000000_elasticloadbalancing_us-east-1_{lb_id}_") and name.endswith(".log.gz")
        lines = gzip.decompress(s3.get_object(Bucket=bucket, Key=keys[0])["Body"].read()).decode().splitlines()
        assert len(lines) == 3
        fields = lines[0].split(" ")
        assert fields[0] == "http" and fields[2] == arn.split("loadbalancer/")[1]
        assert fields[4] == f"127.0.0.1:{backend.port}" and fields[8] == "200" and fields[9] == "200"
        assert f'"GET http://{address(lb)}:80/page/0?q=1 HTTP/1.1"' in lines[0] and '"nubo-test"' in lines[0]
        assert tg["TargetGroupArn"] in lines[0] and '"forward"' in lines[0]
    finally:
        backend.stop()
        elb.delete_load_balancer(LoadBalancerArn=arn)


def test_an_alb_invokes_a_lambda_target_with_albs_event_and_answers_with_its_response(elb, ec2, node):
    import io
    import zipfile
    lam = client(node, "lambda")
    code = (
        "import json\n"
        "def handler(event, context):\n"
        "    if event['path'] == '/fail':\n"
        "        raise ValueError('no')\n"
        "    seen = {'path': event['path'], 'q': event['queryStringParameters'], 'xff': event['headers'].get('x-forwarded-for'),\n"
        "            'body': event['body'], 'tg': event['requestContext']['elb']['targetGroupArn']}\n"
        "    return {'statusCode': 201, 'statusDescription': '201 Created', 'headers': {'content-type': 'application/json', 'x-from': 'lambda'},\n"
        "            'body': json.dumps(seen), 'isBase64Encoded': False}\n"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", code)
    fn = f"alb-target-{uuid.uuid4().hex[:6]}"
    fn_arn = lam.create_function(FunctionName=fn, Runtime="python3.11", Role="arn:aws:iam::000000000000:role/lambda-role",
                                 Handler="app.handler", Code={"ZipFile": buf.getvalue()})["FunctionArn"]
    vpc, subnets = default_vpc(ec2)
    sg = open_group(ec2, vpc, 80)
    lb = elb.create_load_balancer(Name=f"fn-{uuid.uuid4().hex[:8]}", Subnets=subnets, SecurityGroups=[sg])["LoadBalancers"][0]
    tg = elb.create_target_group(Name=f"fn-{uuid.uuid4().hex[:8]}", TargetType="lambda")["TargetGroups"][0]
    tg_arn = tg["TargetGroupArn"]
    try:
        assert tg["HealthCheckEnabled"] is False and "Port" not in tg
        # Elastic Load Balancing needs the function's permission first.
        with pytest.raises(ClientError) as e:
            elb.register_targets(TargetGroupArn=tg_arn, Targets=[{"Id": fn_arn}])
        assert e.value.response["Error"]["Code"] == "AccessDenied"
        lam.add_permission(FunctionName=fn, StatementId="elb", Action="lambda:InvokeFunction",
                           Principal="elasticloadbalancing.amazonaws.com", SourceArn=tg_arn)
        elb.register_targets(TargetGroupArn=tg_arn, Targets=[{"Id": fn_arn}])
        described = elb.describe_target_health(TargetGroupArn=tg_arn)["TargetHealthDescriptions"]
        assert described[0]["Target"]["Id"] == fn_arn
        assert "Port" not in described[0]["Target"]
        elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                            DefaultActions=[{"Type": "forward", "TargetGroupArn": tg_arn}])
        req = urllib.request.Request(f"http://{address(lb)}/hello?name=a%20b", data=b"ping", method="POST", headers={"Content-Type": "text/plain"})
        with urllib.request.urlopen(req, timeout=30) as r:
            assert r.status == 201 and r.headers["x-from"] == "lambda"
            seen = json.loads(r.read())
        assert seen == {"path": "/hello", "q": {"name": "a%20b"}, "xff": "127.0.0.1", "body": "ping", "tg": tg_arn}
        status, _, body = get(f"http://{address(lb)}/fail", timeout=30)
        assert status == 502 and "502 Bad Gateway" in body
        elb.deregister_targets(TargetGroupArn=tg_arn, Targets=[{"Id": fn_arn}])
    finally:
        elb.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])


def test_an_nlb_relays_udp_flows_and_replies_reach_the_client(elb, ec2):
    vpc, subnets = default_vpc(ec2)
    echo = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    echo.bind(("127.0.0.1", 0))

    def serve():
        while True:
            try:
                data, peer = echo.recvfrom(1500)
            except OSError:
                return
            echo.sendto(b"echo:" + data, peer)

    threading.Thread(target=serve, daemon=True).start()
    lb = elb.create_load_balancer(Name=f"udp-{uuid.uuid4().hex[:8]}", Subnets=subnets, Type="network")["LoadBalancers"][0]
    try:
        tg = elb.create_target_group(Name=f"udp-{uuid.uuid4().hex[:8]}", Protocol="UDP", Port=5353, VpcId=vpc, TargetType="ip",
                                     HealthCheckProtocol="TCP")["TargetGroups"][0]
        elb.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": "127.0.0.1", "Port": echo.getsockname()[1]}])
        elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="UDP", Port=5353, DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}])
        client_socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        client_socket.settimeout(0.5)

        def roundtrip(payload):
            client_socket.sendto(payload, (address(lb), 5353))
            try:
                # Replies to earlier tries may still arrive: wait for this one's.
                while (reply := client_socket.recvfrom(1500)[0]) != b"echo:" + payload:
                    pass
                return reply
            except OSError:
                return None

        assert until("the UDP listener", lambda: roundtrip(b"one")) == b"echo:one"
        # The same flow keeps its way back.
        assert roundtrip(b"two") == b"echo:two"
        client_socket.close()
    finally:
        echo.close()
        elb.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])
