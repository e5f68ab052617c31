"""S3 bucket configurations through boto3 and the CLI, and lifecycle rules really applied."""

import json
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import Nubo


def code(e):
    return e.value.response["Error"]["Code"], e.value.response["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture
def s3(boto):
    return boto("s3")


@pytest.fixture
def bucket(s3):
    b = f"cfg-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=b)
    return b


POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "Public", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}],
}


def test_bucket_policy_round_trip_and_status(s3, bucket):
    with pytest.raises(ClientError) as e:
        s3.get_bucket_policy(Bucket=bucket)
    assert code(e) == ("NoSuchBucketPolicy", 404)
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(POLICY))
    assert json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]) == POLICY
    assert s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is True
    with pytest.raises(ClientError) as e:
        s3.put_bucket_policy(Bucket=bucket, Policy="not json")
    assert code(e) == ("MalformedPolicy", 400)
    s3.delete_bucket_policy(Bucket=bucket)
    with pytest.raises(ClientError):
        s3.get_bucket_policy(Bucket=bucket)


def test_cors_configuration(s3, bucket):
    with pytest.raises(ClientError) as e:
        s3.get_bucket_cors(Bucket=bucket)
    assert code(e) == ("NoSuchCORSConfiguration", 404)
    rules = [{"AllowedOrigins": ["https://example.com"], "AllowedMethods": ["GET", "PUT"], "AllowedHeaders": ["*"],
              "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 300}]
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": rules})
    got = s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert got[0]["AllowedOrigins"] == ["https://example.com"] and got[0]["MaxAgeSeconds"] == 300
    with pytest.raises(ClientError) as e:
        s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["PATCH"]}]})
    assert code(e) == ("InvalidRequest", 400)
    s3.delete_bucket_cors(Bucket=bucket)


def test_default_encryption(s3, bucket):
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/mine"}, "BucketKeyEnabled": True}]})
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/mine"}
    s3.delete_bucket_encryption(Bucket=bucket)
    assert s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"


def test_canned_acls(s3, bucket):
    grants = s3.get_bucket_acl(Bucket=bucket)["Grants"]
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL"]
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    grants = s3.get_bucket_acl(Bucket=bucket)["Grants"]
    assert {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"} in [g["Grantee"] for g in grants]
    s3.put_object(Bucket=bucket, Key="o", Body=b"x", ACL="authenticated-read")
    assert any(g["Grantee"].get("URI", "").endswith("AuthenticatedUsers") for g in s3.get_object_acl(Bucket=bucket, Key="o")["Grants"])
    s3.put_object_acl(Bucket=bucket, Key="o", ACL="private")
    assert len(s3.get_object_acl(Bucket=bucket, Key="o")["Grants"]) == 1
    with pytest.raises(ClientError) as e:
        s3.put_bucket_acl(Bucket=bucket, ACL="everyone-welcome")
    assert code(e)[1] == 400


def test_website_and_notification_configurations_are_kept(s3, bucket):
    with pytest.raises(ClientError) as e:
        s3.get_bucket_website(Bucket=bucket)
    assert code(e) == ("NoSuchWebsiteConfiguration", 404)
    s3.put_bucket_website(Bucket=bucket, WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}, "ErrorDocument": {"Key": "404.html"}})
    site = s3.get_bucket_website(Bucket=bucket)
    assert site["IndexDocument"] == {"Suffix": "index.html"} and site["ErrorDocument"] == {"Key": "404.html"}
    s3.delete_bucket_website(Bucket=bucket)
    assert "QueueConfigurations" not in s3.get_bucket_notification_configuration(Bucket=bucket)
    queue = {"Id": "q", "QueueArn": "arn:aws:sqs:us-east-1:000000000000:events", "Events": ["s3:ObjectCreated:*"],
             "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "uploads/"}]}}}
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"QueueConfigurations": [queue]})
    assert s3.get_bucket_notification_configuration(Bucket=bucket)["QueueConfigurations"] == [queue]


def test_public_access_block_and_ownership_and_reported_defaults(s3, bucket):
    with pytest.raises(ClientError) as e:
        s3.get_public_access_block(Bucket=bucket)
    assert code(e) == ("NoSuchPublicAccessBlockConfiguration", 404)
    block = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=block)
    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"] == block
    assert s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert s3.get_bucket_request_payment(Bucket=bucket)["Payer"] == "BucketOwner"
    assert "Status" not in s3.get_bucket_accelerate_configuration(Bucket=bucket)
    assert "LoggingEnabled" not in s3.get_bucket_logging(Bucket=bucket)
    with pytest.raises(ClientError) as e:
        s3.get_bucket_replication(Bucket=bucket)
    assert code(e) == ("ReplicationConfigurationNotFoundError", 404)
    with pytest.raises(ClientError) as e:
        s3.get_object_lock_configuration(Bucket=bucket)
    assert code(e) == ("ObjectLockConfigurationNotFoundError", 404)


def test_lifecycle_configuration_round_trip(s3, bucket, aws):
    with pytest.raises(ClientError) as e:
        s3.get_bucket_lifecycle_configuration(Bucket=bucket)
    assert code(e) == ("NoSuchLifecycleConfiguration", 404)
    rules = [{"ID": "logs", "Status": "Enabled", "Filter": {"Prefix": "logs/"}, "Expiration": {"Days": 30}},
             {"ID": "old", "Status": "Enabled", "Filter": {"Prefix": ""}, "NoncurrentVersionExpiration": {"NoncurrentDays": 7},
              "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2}}]
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": rules})
    assert s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"] == rules
    assert aws("s3api", "get-bucket-lifecycle-configuration", "--bucket", bucket)["Rules"][0]["ID"] == "logs"
    s3.delete_bucket_lifecycle(Bucket=bucket)


def _until(predicate, seconds=10.0):
    """Waits for a condition the server brings about by itself (a controller's work)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def test_lifecycle_expires_objects_when_the_clock_passes_their_day(client_config):
    import boto3

    n = Nubo()  # its own clock: jumping it must not disturb other tests
    try:
        s3 = boto3.client("s3", endpoint_url=n.endpoint, region_name="us-east-1", aws_access_key_id="test",
                          aws_secret_access_key="test", config=client_config)
        s3.create_bucket(Bucket="expiring")
        s3.put_object(Bucket="expiring", Key="logs/old.log", Body=b"x")
        s3.put_object(Bucket="expiring", Key="keep/me.txt", Body=b"x")
        uid = s3.create_multipart_upload(Bucket="expiring", Key="logs/partial")["UploadId"]
        s3.put_bucket_lifecycle_configuration(Bucket="expiring", LifecycleConfiguration={"Rules": [
            {"ID": "logs", "Status": "Enabled", "Filter": {"Prefix": "logs/"}, "Expiration": {"Days": 1},
             "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}]})
        keys = lambda: sorted(o["Key"] for o in s3.list_objects_v2(Bucket="expiring").get("Contents", []))
        assert keys() == ["keep/me.txt", "logs/old.log"]
        status, _, _ = n.http("POST", "/_nubo/clock", json.dumps({"advance": "3d"}).encode())
        assert status == 200
        assert _until(lambda: keys() == ["keep/me.txt"]), keys()
        assert _until(lambda: s3.list_multipart_uploads(Bucket="expiring").get("Uploads", []) == [])
        with pytest.raises(ClientError):
            s3.list_parts(Bucket="expiring", Key="logs/partial", UploadId=uid)
    finally:
        n.stop()


def test_lifecycle_expires_noncurrent_versions(client_config):
    import boto3

    n = Nubo()
    try:
        s3 = boto3.client("s3", endpoint_url=n.endpoint, region_name="us-east-1", aws_access_key_id="test",
                          aws_secret_access_key="test", config=client_config)
        s3.create_bucket(Bucket="versions")
        s3.put_bucket_versioning(Bucket="versions", VersioningConfiguration={"Status": "Enabled"})
        old = s3.put_object(Bucket="versions", Key="k", Body=b"old")["VersionId"]
        new = s3.put_object(Bucket="versions", Key="k", Body=b"new")["VersionId"]
        s3.put_bucket_lifecycle_configuration(Bucket="versions", LifecycleConfiguration={"Rules": [
            {"ID": "nc", "Status": "Enabled", "Filter": {}, "NoncurrentVersionExpiration": {"NoncurrentDays": 1}}]})
        versions = lambda: [v["VersionId"] for v in s3.list_object_versions(Bucket="versions").get("Versions", [])]
        assert versions() == [new, old]
        n.http("POST", "/_nubo/clock", json.dumps({"advance": "2d"}).encode())
        assert _until(lambda: versions() == [new]), versions()
        assert s3.get_object(Bucket="versions", Key="k")["Body"].read() == b"new"
    finally:
        n.stop()


def test_cors_preflight_and_response_headers(nubo, s3, bucket):
    pre = {"Origin": "https://app.example.com", "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "Content-Type, X-Amz-Date"}
    status, _, body = nubo.http("OPTIONS", f"/{bucket}/file.txt", headers=pre)
    assert status == 403 and b"CORS is not enabled for this bucket" in body
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [
        {"AllowedOrigins": ["https://*.example.com"], "AllowedMethods": ["GET", "PUT"], "AllowedHeaders": ["content-type", "x-amz-*"],
         "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 600}]})
    status, headers, _ = nubo.http("OPTIONS", f"/{bucket}/file.txt", headers=pre)
    assert status == 200
    assert headers["access-control-allow-origin"] == "https://app.example.com"
    assert headers["access-control-allow-methods"] == "GET, PUT"
    assert headers["access-control-allow-headers"] == "content-type, x-amz-date"
    assert headers["access-control-max-age"] == "600"
    status, _, body = nubo.http("OPTIONS", f"/{bucket}/file.txt", headers={**pre, "Access-Control-Request-Method": "DELETE"})
    assert status == 403 and b"<Code>AccessForbidden</Code>" in body
    status, _, _ = nubo.http("OPTIONS", f"/{bucket}/file.txt", headers={**pre, "Origin": "https://evil.test"})
    assert status == 403
    s3.put_object(Bucket=bucket, Key="file.txt", Body=b"shared")
    status, headers, body = nubo.http("GET", f"/{bucket}/file.txt", headers={"Origin": "https://app.example.com"})
    assert (status, body) == (200, b"shared")
    assert headers["access-control-allow-origin"] == "https://app.example.com"
    assert headers["access-control-expose-headers"] == "ETag"
    status, headers, _ = nubo.http("GET", f"/{bucket}/file.txt")
    assert "access-control-allow-origin" not in headers


def test_static_website_hosting(nubo, s3, bucket):
    port = nubo.endpoint.rsplit(":", 1)[1]
    host = {"Host": f"{bucket}.s3-website.localhost:{port}"}
    status, _, body = nubo.http("GET", "/", headers=host)
    assert status == 404 and b"NoSuchWebsiteConfiguration" in body
    s3.put_object(Bucket=bucket, Key="index.html", Body=b"<h1>home</h1>", ContentType="text/html")
    s3.put_object(Bucket=bucket, Key="docs/index.html", Body=b"<h1>docs</h1>", ContentType="text/html")
    s3.put_object(Bucket=bucket, Key="404.html", Body=b"<h1>lost</h1>", ContentType="text/html")
    s3.put_bucket_website(Bucket=bucket, WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}, "ErrorDocument": {"Key": "404.html"}})
    status, headers, body = nubo.http("GET", "/", headers=host)
    assert (status, body) == (200, b"<h1>home</h1>") and headers["content-type"] == "text/html"
    assert nubo.http("GET", "/docs/", headers=host)[2] == b"<h1>docs</h1>"
    status, headers, _ = nubo.http("GET", "/docs", headers=host)
    assert status == 302 and headers["location"] == "/docs/"
    status, _, body = nubo.http("GET", "/nope.html", headers=host)
    assert (status, body) == (404, b"<h1>lost</h1>")
    regional = {"Host": f"{bucket}.s3-website-us-east-1.localhost:{port}"}
    assert nubo.http("GET", "/index.html", headers=regional)[2] == b"<h1>home</h1>"
    s3.put_bucket_website(Bucket=bucket, WebsiteConfiguration={"RedirectAllRequestsTo": {"HostName": "example.com", "Protocol": "https"}})
    status, headers, _ = nubo.http("GET", "/page", headers=host)
    assert status == 301 and headers["location"] == "https://example.com/page"


def test_cli_configuration_commands(aws, tmp_path):
    import urllib.request

    b = f"cli-cfg-{uuid.uuid4().hex[:10]}"
    aws("s3api", "create-bucket", "--bucket", b)
    aws("s3api", "put-bucket-versioning", "--bucket", b, "--versioning-configuration", "Status=Enabled")
    assert aws("s3api", "get-bucket-versioning", "--bucket", b)["Status"] == "Enabled"
    f = tmp_path / "v.txt"
    f.write_text("one")
    first = aws("s3api", "put-object", "--bucket", b, "--key", "v.txt", "--body", str(f))["VersionId"]
    f.write_text("two")
    aws("s3api", "put-object", "--bucket", b, "--key", "v.txt", "--body", str(f))
    versions = aws("s3api", "list-object-versions", "--bucket", b)["Versions"]
    assert len(versions) == 2 and versions[1]["VersionId"] == first
    aws("s3api", "put-bucket-tagging", "--bucket", b, "--tagging", "TagSet=[{Key=team,Value=core}]")
    assert aws("s3api", "get-bucket-tagging", "--bucket", b)["TagSet"] == [{"Key": "team", "Value": "core"}]
    aws("s3api", "put-object-tagging", "--bucket", b, "--key", "v.txt", "--tagging", "TagSet=[{Key=k,Value=v}]")
    assert aws("s3api", "get-object-tagging", "--bucket", b, "--key", "v.txt")["TagSet"] == [{"Key": "k", "Value": "v"}]
    aws("s3api", "put-bucket-policy", "--bucket", b, "--policy", json.dumps(POLICY))
    assert json.loads(aws("s3api", "get-bucket-policy", "--bucket", b)["Policy"]) == POLICY
    url = aws("s3", "presign", f"s3://{b}/v.txt", "--expires-in", "60").strip()
    with urllib.request.urlopen(url) as r:
        assert r.read() == b"two"
    p = aws("s3api", "get-bucket-cors", "--bucket", b, check=False)
    assert p.returncode != 0 and "NoSuchCORSConfiguration" in p.stderr
    aws("s3api", "put-bucket-cors", "--bucket", b, "--cors-configuration",
        json.dumps({"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]}))
    assert aws("s3api", "get-bucket-cors", "--bucket", b)["CORSRules"][0]["AllowedMethods"] == ["GET"]
    aws("s3", "website", f"s3://{b}", "--index-document", "index.html", "--error-document", "error.html")
    assert aws("s3api", "get-bucket-website", "--bucket", b)["IndexDocument"] == {"Suffix": "index.html"}
    aws("s3api", "put-bucket-lifecycle-configuration", "--bucket", b, "--lifecycle-configuration",
        json.dumps({"Rules": [{"ID": "tmp", "Status": "Enabled", "Filter": {"Prefix": "tmp/"}, "Expiration": {"Days": 1}}]}))
    aws("s3api", "put-bucket-encryption", "--bucket", b, "--server-side-encryption-configuration",
        json.dumps({"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}))
    assert aws("s3api", "get-bucket-encryption", "--bucket", b)["ServerSideEncryptionConfiguration"]["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"


def test_s3_event_notifications_arrive_in_sqs(boto):
    s3, sqs = boto("s3"), boto("sqs")
    b = f"events-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=b)
    url = sqs.create_queue(QueueName=f"s3-events-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(Bucket=b, NotificationConfiguration={"QueueConfigurations": [
        {"Id": "uploads", "QueueArn": arn, "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
         "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "uploads/"}]}}}]})
    s3.put_object(Bucket=b, Key="uploads/photo 1.jpg", Body=b"jpeg")
    s3.put_object(Bucket=b, Key="elsewhere.txt", Body=b"ignored")
    s3.delete_object(Bucket=b, Key="uploads/photo 1.jpg")
    bodies = [json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]]
    assert bodies[0]["Event"] == "s3:TestEvent" and bodies[0]["Bucket"] == b
    records = [x["Records"][0] for x in bodies[1:]]
    assert [r["eventName"] for r in records] == ["ObjectCreated:Put", "ObjectRemoved:Delete"]
    r = records[0]
    assert r["eventSource"] == "aws:s3" and r["s3"]["bucket"]["name"] == b and r["s3"]["configurationId"] == "uploads"
    assert r["s3"]["object"]["key"] == "uploads/photo%201.jpg" and r["s3"]["object"]["size"] == 4
