"""With `--enforce-iam`: signatures are verified and every call is authorized by IAM.

The seed's demonstration: user-1 with S3 read-only lists and gets but cannot put; user-2
with EC2 read-only describes but cannot run; user-3 with a custom EC2 policy can do what
it says; a role assumed through STS gets the role's permissions until it expires.
"""

import json
import os
import subprocess
import sys
import shutil
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import Nubo

REGION = "us-east-1"
CONFIG = Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=30)


@pytest.fixture(scope="module")
def enforced():
    n = Nubo("--enforce-iam")
    yield n
    n.stop()


def client(n, service, key="test", secret="test", token=None):
    return boto3.client(service, endpoint_url=n.endpoint, region_name=REGION, aws_access_key_id=key,
                        aws_secret_access_key=secret, aws_session_token=token, config=CONFIG)


def user_with(n, policy_arns=(), inline=None):
    """A new user with the given policies and an access key: (name, key id, secret)."""
    iam = client(n, "iam")
    name = f"user-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=name)
    for arn in policy_arns:
        iam.attach_user_policy(UserName=name, PolicyArn=arn)
    if inline:
        iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=json.dumps(inline))
    k = iam.create_access_key(UserName=name)["AccessKey"]
    return name, k["AccessKeyId"], k["SecretAccessKey"]


def err(e):
    return e.value.response["Error"]["Code"], e.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_user_with_s3_read_only_can_list_and_get_but_not_put(enforced):
    root = client(enforced, "s3")
    bucket = f"b-{uuid.uuid4().hex[:8]}"
    root.create_bucket(Bucket=bucket)
    root.put_object(Bucket=bucket, Key="hello.txt", Body=b"hi")
    name, key, secret = user_with(enforced, ["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"])
    s3 = client(enforced, "s3", key, secret)
    assert bucket in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["hello.txt"]
    assert s3.get_object(Bucket=bucket, Key="hello.txt")["Body"].read() == b"hi"
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="new.txt", Body=b"no")
    assert err(e) == ("AccessDenied", 403)
    message = e.value.response["Error"]["Message"]
    assert f"user/{name} is not authorized to perform: s3:PutObject on resource: \"arn:aws:s3:::{bucket}/new.txt\"" in message
    assert "because no identity-based policy allows the s3:PutObject action" in message
    # Other services are denied too.
    with pytest.raises(ClientError) as e:
        client(enforced, "sqs", key, secret).list_queues()
    assert err(e)[0] in ("AccessDenied", "AccessDeniedException")


def test_user_with_ec2_read_only_can_describe_but_not_run(enforced):
    _, key, secret = user_with(enforced, ["arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess"])
    ec2 = client(enforced, "ec2", key, secret)
    with pytest.raises(ClientError) as e:
        ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1, InstanceType="t2.micro")
    assert err(e) == ("UnauthorizedOperation", 403)
    assert isinstance(ec2.describe_instances()["Reservations"], list)
    assert ec2.describe_vpcs()["Vpcs"][0]["IsDefault"] is True
    assert ec2.describe_security_groups()["SecurityGroups"]


def test_user_with_a_custom_ec2_policy_can_do_exactly_what_it_says(enforced):
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["ec2:Describe*"], "Resource": "*"},
            {"Effect": "Allow", "Action": ["ec2:StartInstances", "ec2:StopInstances"], "Resource": "*",
             "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}},
            {"Effect": "Deny", "Action": "ec2:TerminateInstances", "Resource": "*"},
        ],
    }
    _, key, secret = user_with(enforced, inline=policy)
    ec2 = client(enforced, "ec2", key, secret)

    def denied(call):
        try:
            call()
        except ClientError as e:
            return e.response["Error"]["Code"] == "UnauthorizedOperation", e.response["Error"]["Message"]
        return False, ""

    assert not denied(lambda: ec2.describe_security_groups())[0]
    assert not denied(lambda: ec2.stop_instances(InstanceIds=["i-0123456789abcdef0"]))[0]
    was_denied, message = denied(lambda: ec2.terminate_instances(InstanceIds=["i-0123456789abcdef0"]))
    assert was_denied and "with an explicit deny in an identity-based policy" in message
    assert denied(lambda: ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1))[0]
    # The region condition: the same call from another region is denied.
    other = boto3.client("ec2", endpoint_url=enforced.endpoint, region_name="eu-west-1", aws_access_key_id=key,
                         aws_secret_access_key=secret, config=CONFIG)
    assert denied(lambda: other.stop_instances(InstanceIds=["i-0123456789abcdef0"]))[0]


def test_assumed_role_gets_the_roles_permissions_until_it_expires(enforced):
    iam = client(enforced, "iam")
    role = f"reader-{uuid.uuid4().hex[:8]}"
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:root"}, "Action": "sts:AssumeRole"}]}
    role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.attach_role_policy(RoleName=role, PolicyArn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
    _, key, secret = user_with(enforced, inline={"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arn}]})

    sts = client(enforced, "sts", key, secret)
    creds = sts.assume_role(RoleArn=role_arn, RoleSessionName="demo", DurationSeconds=900)["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    as_role = dict(key=creds["AccessKeyId"], secret=creds["SecretAccessKey"], token=creds["SessionToken"])
    ident = client(enforced, "sts", **as_role).get_caller_identity()
    assert ident["Arn"] == f"arn:aws:sts::000000000000:assumed-role/{role}/demo"

    s3 = client(enforced, "s3", **as_role)
    s3.list_buckets()
    with pytest.raises(ClientError) as e:
        s3.create_bucket(Bucket=f"nope-{uuid.uuid4().hex[:8]}")
    assert err(e) == ("AccessDenied", 403)
    # Without its session token the key is refused.
    with pytest.raises(ClientError) as e:
        client(enforced, "sts", creds["AccessKeyId"], creds["SecretAccessKey"]).get_caller_identity()
    assert err(e) == ("InvalidClientTokenId", 403)

    status, _, _ = enforced.http("POST", "/_nubo/clock", b'{"advance": "901s"}')
    assert status == 200
    with pytest.raises(ClientError) as e:
        client(enforced, "sts", **as_role).get_caller_identity()
    assert err(e) == ("ExpiredToken", 400)


def test_session_policy_narrows_what_the_role_allows(enforced):
    iam = client(enforced, "iam")
    role = f"wide-{uuid.uuid4().hex[:8]}"
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:root"}, "Action": "sts:AssumeRole"}]}
    role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.attach_role_policy(RoleName=role, PolicyArn="arn:aws:iam::aws:policy/AmazonS3FullAccess")
    only_list = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]}
    creds = client(enforced, "sts").assume_role(RoleArn=role_arn, RoleSessionName="narrow", Policy=json.dumps(only_list))["Credentials"]
    s3 = client(enforced, "s3", creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    s3.list_buckets()
    with pytest.raises(ClientError) as e:
        s3.create_bucket(Bucket=f"nope-{uuid.uuid4().hex[:8]}")
    assert err(e) == ("AccessDenied", 403)
    assert "no session policy allows" in e.value.response["Error"]["Message"]


def test_public_bucket_policy_lets_anonymous_requests_read(enforced):
    root = client(enforced, "s3")
    bucket = f"pub-{uuid.uuid4().hex[:8]}"
    root.create_bucket(Bucket=bucket)
    root.put_object(Bucket=bucket, Key="index.html", Body=b"<h1>hi</h1>")
    status, _, _ = enforced.http("GET", f"/{bucket}/index.html")
    assert status == 403
    public = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                                                      "Resource": f"arn:aws:s3:::{bucket}/*"}]}
    root.put_bucket_policy(Bucket=bucket, Policy=json.dumps(public))
    status, _, body = enforced.http("GET", f"/{bucket}/index.html")
    assert (status, body) == (200, b"<h1>hi</h1>")
    status, _, _ = enforced.http("PUT", f"/{bucket}/other.html", b"x")
    assert status == 403


def test_trust_policy_decides_who_may_assume_a_role(enforced):
    iam = client(enforced, "iam")
    role = f"svc-{uuid.uuid4().hex[:8]}"
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    _, key, secret = user_with(enforced, ["arn:aws:iam::aws:policy/AdministratorAccess"])
    with pytest.raises(ClientError) as e:
        client(enforced, "sts", key, secret).assume_role(RoleArn=role_arn, RoleSessionName="xx")
    assert err(e) == ("AccessDenied", 403)


def test_bad_credentials_get_the_services_errors(enforced):
    with pytest.raises(ClientError) as e:
        client(enforced, "sts", "test", "wrong-secret").get_caller_identity()
    assert err(e) == ("SignatureDoesNotMatch", 403)
    with pytest.raises(ClientError) as e:
        client(enforced, "sts", "AKIAIOSFODNN7EXAMPLE", "x").get_caller_identity()
    assert err(e) == ("InvalidClientTokenId", 403)
    with pytest.raises(ClientError) as e:
        client(enforced, "s3", "AKIAIOSFODNN7EXAMPLE", "x").list_buckets()
    assert err(e) == ("InvalidAccessKeyId", 403)
    status, _, body = enforced.http("POST", "/", b"Action=GetCallerIdentity&Version=2011-06-15",
                                    {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 403 and b"MissingAuthenticationToken" in body


def test_inactive_keys_are_refused(enforced):
    name, key, secret = user_with(enforced, ["arn:aws:iam::aws:policy/ReadOnlyAccess"])
    client(enforced, "sts", key, secret).get_caller_identity()
    client(enforced, "iam").update_access_key(UserName=name, AccessKeyId=key, Status="Inactive")
    with pytest.raises(ClientError) as e:
        client(enforced, "sts", key, secret).get_caller_identity()
    assert err(e) == ("InvalidClientTokenId", 403)


def test_bucket_policy_deny_overrides_an_identity_allow(enforced):
    root = client(enforced, "s3")
    bucket = f"b-{uuid.uuid4().hex[:8]}"
    root.create_bucket(Bucket=bucket)
    name, key, secret = user_with(enforced, ["arn:aws:iam::aws:policy/AmazonS3FullAccess"])
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": {"AWS": f"arn:aws:iam::000000000000:user/{name}"},
                                                        "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]}
    root.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    s3 = client(enforced, "s3", key, secret)
    s3.list_objects_v2(Bucket=bucket)
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert err(e) == ("AccessDenied", 403)
    assert "explicit deny in a resource-based policy" in e.value.response["Error"]["Message"]


@pytest.mark.parametrize("version", ["s3", "s3v4"])
def test_presigned_urls_are_verified(enforced, version):
    root = client(enforced, "s3")
    bucket = f"b-{uuid.uuid4().hex[:8]}"
    root.create_bucket(Bucket=bucket)
    root.put_object(Bucket=bucket, Key="k", Body=b"secret")
    signer = boto3.client("s3", endpoint_url=enforced.endpoint, region_name=REGION, aws_access_key_id="test",
                          aws_secret_access_key="test", config=Config(signature_version=version))
    url = signer.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=300)
    assert ("X-Amz-Signature=" in url) == (version == "s3v4")
    path = url[len(enforced.endpoint):]
    status, _, body = enforced.http("GET", path)
    assert (status, body) == (200, b"secret")
    status, _, body = enforced.http("GET", path.replace("Signature=", "Signature=0"))
    assert status == 403 and b"SignatureDoesNotMatch" in body
    # Unsigned, the object is private.
    status, _, body = enforced.http("GET", f"/{bucket}/k")
    assert status == 403 and b"AccessDenied" in body


def test_cli_as_a_limited_user(enforced):
    _, key, secret = user_with(enforced, ["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"])
    cli = shutil.which("aws", path=str(Path(sys.executable).parent)) or shutil.which("aws")
    env = dict(os.environ, AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret, AWS_DEFAULT_REGION=REGION, AWS_MAX_ATTEMPTS="1")

    def run(*args):
        return subprocess.run([cli, "--endpoint-url", enforced.endpoint, "--output", "json", *args], capture_output=True, text=True, env=env, timeout=60)

    assert run("s3api", "list-buckets").returncode == 0
    p = run("s3api", "create-bucket", "--bucket", f"cli-{uuid.uuid4().hex[:8]}")
    assert p.returncode != 0 and "AccessDenied" in p.stderr
    p = run("iam", "create-user", "--user-name", "someone")
    assert p.returncode != 0 and "AccessDenied" in p.stderr and "iam:CreateUser" in p.stderr


def _signed_streaming_put(n, bucket, key, chunks, tamper=False):
    """PUT with STREAMING-AWS4-HMAC-SHA256-PAYLOAD, signed here as the Java and Go SDKs do."""
    import datetime
    import hashlib
    import hmac as hmac_

    def h(data):
        return hashlib.sha256(data).hexdigest()

    def mac(k, m):
        return hmac_.new(k, m.encode(), hashlib.sha256).digest()

    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date, date = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    scope = f"{date}/{REGION}/s3/aws4_request"
    host = n.endpoint.split("//", 1)[1]
    total = sum(len(c) for c in chunks)
    headers = {
        "content-encoding": "aws-chunked",
        "host": host,
        "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "x-amz-date": amz_date,
        "x-amz-decoded-content-length": str(total),
    }
    signed = ";".join(sorted(headers))
    canonical = "\n".join(["PUT", f"/{bucket}/{key}", "", *[f"{k}:{headers[k]}" for k in sorted(headers)], "", signed,
                           "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"])
    sts = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{h(canonical.encode())}"
    k = mac(mac(mac(mac(b"AWS4test", date), REGION), "s3"), "aws4_request")
    seed = hmac_.new(k, sts.encode(), hashlib.sha256).hexdigest()
    body, previous = b"", seed
    for data in [*chunks, b""]:
        chunk_sts = f"AWS4-HMAC-SHA256-PAYLOAD\n{amz_date}\n{scope}\n{previous}\n{h(b'')}\n{h(data)}"
        previous = hmac_.new(k, chunk_sts.encode(), hashlib.sha256).hexdigest()
        sent = data.replace(b"a", b"b", 1) if tamper and data else data
        body += f"{len(data):x};chunk-signature={previous}\r\n".encode() + sent + b"\r\n"
    headers["authorization"] = f"AWS4-HMAC-SHA256 Credential=test/{scope}, SignedHeaders={signed}, Signature={seed}"
    headers["content-length"] = str(len(body))
    del headers["host"]
    return n.http("PUT", f"/{bucket}/{key}", body, headers)


def test_signed_streaming_uploads_have_their_chunk_signatures_checked(enforced):
    root = client(enforced, "s3")
    bucket = f"chunks-{uuid.uuid4().hex[:8]}"
    root.create_bucket(Bucket=bucket)
    status, _, body = _signed_streaming_put(enforced, bucket, "good", [b"a" * 65536, b"a" * 1024])
    assert status == 200, body
    assert root.get_object(Bucket=bucket, Key="good")["Body"].read() == b"a" * 66560
    status, _, body = _signed_streaming_put(enforced, bucket, "bad", [b"a" * 65536, b"a" * 1024], tamper=True)
    assert status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in body
    with pytest.raises(ClientError) as e:
        root.head_object(Bucket=bucket, Key="bad")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_mfa_protected_actions_need_an_mfa_session(enforced):
    import base64
    import hashlib
    import hmac as hmac_
    import struct
    import time

    def totp(seed_b32, step):
        seed = base64.b32decode(seed_b32 + "=" * (-len(seed_b32) % 8))
        d = hmac_.new(seed, struct.pack(">Q", step), hashlib.sha1).digest()
        o = d[19] & 15
        return "%06d" % ((struct.unpack(">I", d[o:o + 4])[0] & 0x7FFFFFFF) % 1_000_000)

    needs_mfa = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*",
         "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]}
    name, key, secret = user_with(enforced, inline=needs_mfa)
    iam = client(enforced, "iam")
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=f"mfa-{name}")["VirtualMFADevice"]
    seed = device["Base32StringSeed"].decode()
    step = int(time.time()) // 30
    iam.enable_mfa_device(UserName=name, SerialNumber=device["SerialNumber"],
                          AuthenticationCode1=totp(seed, step - 1), AuthenticationCode2=totp(seed, step))
    with pytest.raises(ClientError) as e:
        client(enforced, "s3", key, secret).list_buckets()
    assert err(e) == ("AccessDenied", 403)
    sts = client(enforced, "sts", key, secret)
    with pytest.raises(ClientError) as e:
        sts.get_session_token(SerialNumber=device["SerialNumber"], TokenCode="000000")
    assert err(e) == ("AccessDenied", 403)
    creds = sts.get_session_token(SerialNumber=device["SerialNumber"], TokenCode=totp(seed, int(time.time()) // 30))["Credentials"]
    session = client(enforced, "s3", creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    session.list_buckets()
    ident = client(enforced, "sts", creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]).get_caller_identity()
    assert ident["Arn"].endswith(f":user/{name}")


def test_queue_policy_grants_a_user_without_identity_policies(enforced):
    sqs = client(enforced, "sqs")
    url = sqs.create_queue(QueueName=f"q-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    name, key, secret = user_with(enforced)
    user_sqs = client(enforced, "sqs", key, secret)
    with pytest.raises(ClientError) as e:
        user_sqs.send_message(QueueUrl=url, MessageBody="x")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::000000000000:user/{name}"},
                                                        "Action": "sqs:SendMessage", "Resource": arn}]}
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    user_sqs.send_message(QueueUrl=url, MessageBody="x")
    with pytest.raises(ClientError):
        user_sqs.receive_message(QueueUrl=url)


def test_source_ip_conditions_see_the_callers_address(enforced):
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"},
        {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}]}
    _, key, secret = user_with(enforced, inline=policy)
    with pytest.raises(ClientError) as e:
        client(enforced, "s3", key, secret).list_buckets()
    assert err(e) == ("AccessDenied", 403)
    allow_local = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}}]}
    _, key, secret = user_with(enforced, inline=allow_local)
    client(enforced, "s3", key, secret).list_buckets()


def test_service_last_accessed_reports_what_a_user_used(enforced):
    name, key, secret = user_with(enforced, ["arn:aws:iam::aws:policy/ReadOnlyAccess"])
    client(enforced, "s3", key, secret).list_buckets()
    iam = client(enforced, "iam")
    arn = iam.get_user(UserName=name)["User"]["Arn"]
    job = iam.generate_service_last_accessed_details(Arn=arn)["JobId"]
    details = iam.get_service_last_accessed_details(JobId=job)
    assert details["JobStatus"] == "COMPLETED"
    by_ns = {s["ServiceNamespace"]: s for s in details["ServicesLastAccessed"]}
    assert "LastAuthenticated" in by_ns["s3"] and by_ns["s3"]["LastAuthenticatedEntity"] == arn
    assert "LastAuthenticated" not in by_ns["dynamodb"]
    used = iam.get_access_key_last_used(AccessKeyId=key)
    assert used["UserName"] == name and used["AccessKeyLastUsed"]["ServiceName"] == "s3"


def test_users_change_their_own_password_under_the_policy(enforced):
    name, key, secret = user_with(enforced, inline={"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "iam:ChangePassword", "Resource": "arn:aws:iam::*:user/${aws:username}"}]})
    iam = client(enforced, "iam")
    iam.create_login_profile(UserName=name, Password="first-Passw0rd!")
    mine = client(enforced, "iam", key, secret)
    with pytest.raises(ClientError) as e:
        mine.change_password(OldPassword="wrong-Passw0rd!", NewPassword="second-Passw0rd!")
    assert err(e)[0] == "InvalidInput" or err(e)[1] == 400
    mine.change_password(OldPassword="first-Passw0rd!", NewPassword="second-Passw0rd!")
    with pytest.raises(ClientError) as e:
        mine.create_user(UserName=f"x-{uuid.uuid4().hex[:6]}")
    assert err(e) == ("AccessDenied", 403)


def test_website_endpoint_serves_only_what_the_bucket_policy_makes_public(enforced):
    root = client(enforced, "s3")
    bucket = f"site-{uuid.uuid4().hex[:8]}"
    root.create_bucket(Bucket=bucket)
    root.put_object(Bucket=bucket, Key="index.html", Body=b"<h1>home</h1>", ContentType="text/html")
    root.put_bucket_website(Bucket=bucket, WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}})
    host = {"Host": f"{bucket}.s3-website.localhost:{enforced.endpoint.rsplit(':', 1)[1]}"}
    status, _, _ = enforced.http("GET", "/index.html", headers=host)
    assert status == 403
    public = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                                                      "Resource": f"arn:aws:s3:::{bucket}/*"}]}
    root.put_bucket_policy(Bucket=bucket, Policy=json.dumps(public))
    status, _, body = enforced.http("GET", "/index.html", headers=host)
    assert (status, body) == (200, b"<h1>home</h1>")


def test_a_body_other_than_the_signed_one_is_refused(enforced):
    """A signed x-amz-content-sha256 must name the body that came."""
    import botocore.auth
    import botocore.awsrequest
    import botocore.credentials
    body = b"Action=GetCallerIdentity&Version=2011-06-15"
    req = botocore.awsrequest.AWSRequest("POST", enforced.endpoint + "/", data=body,
                                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    botocore.auth.SigV4Auth(botocore.credentials.Credentials("test", "test"), "sts", REGION).add_auth(req)
    headers = dict(req.headers.items())
    status, _, _ = enforced.http("POST", "/", body, headers)
    assert status == 200
    headers["X-Amz-Content-SHA256"] = "0" * 64
    status, _, resp = enforced.http("POST", "/", body, headers)
    assert status == 403 and b"SignatureDoesNotMatch" in resp
