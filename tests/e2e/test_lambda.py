"""Lambda through boto3 and the AWS CLI: functions created from zips that really run
(Python, Node, a custom runtime's shell bootstrap), their results, errors, timeouts, logs
(LogType=Tail and CloudWatch Logs), and functions that call nubo through the SDK."""

import base64
import io
import json
import shutil
import subprocess
import uuid
import zipfile

import pytest
from botocore.exceptions import ClientError

ROLE = "arn:aws:iam::000000000000:role/lambda-role"


def package(files: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, (text, mode) in ((n, v if isinstance(v, tuple) else (v, 0o644)) for n, v in files.items()):
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, text)
    return buf.getvalue()


def name(prefix="fn"):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def lam(boto):
    return boto("lambda")


PYTHON = '''
import json, os, time

def handler(event, context):
    print("event", json.dumps(event))
    if event.get("fail"):
        raise ValueError("boom")
    if event.get("sleep"):
        time.sleep(event["sleep"])
    return {"echo": event, "function": context.function_name, "region": os.environ["AWS_REGION"],
            "greeting": os.environ.get("GREETING"), "remaining": context.get_remaining_time_in_millis() > 0}
'''


def test_python_function_runs(lam):
    fn = name()
    created = lam.create_function(FunctionName=fn, Runtime="python3.12", Role=ROLE, Handler="app.handler",
                                  Code={"ZipFile": package({"app.py": PYTHON})}, Timeout=2,
                                  Environment={"Variables": {"GREETING": "hi"}})
    assert created["State"] == "Active" and created["Handler"] == "app.handler" and created["Timeout"] == 2
    out = lam.invoke(FunctionName=fn, Payload=json.dumps({"n": 1}), LogType="Tail")
    assert out["StatusCode"] == 200 and "FunctionError" not in out
    assert json.loads(out["Payload"].read()) == {"echo": {"n": 1}, "function": fn, "region": "us-east-1", "greeting": "hi", "remaining": True}
    log = base64.b64decode(out["LogResult"]).decode()
    assert log.startswith("INIT_START Runtime Version: python:3.12") and "\nSTART RequestId: " in log and 'event {"n": 1}' in log and "\nEND RequestId: " in log and "\nREPORT RequestId: " in log
    host = "%d.%d" % __import__("sys").version_info[:2]
    if host != "3.12":
        assert f"nubo: this function declares python3.12; the host's Python {host}." in log, "a different host version is said"
    # Warm: the same environment answers again.
    assert json.loads(lam.invoke(FunctionName=fn, Payload=b'{"n": 2}')["Payload"].read())["echo"] == {"n": 2}
    # An error, as Lambda reports it.
    failed = lam.invoke(FunctionName=fn, Payload=b'{"fail": true}')
    assert failed["FunctionError"] == "Unhandled"
    error = json.loads(failed["Payload"].read())
    assert (error["errorType"], error["errorMessage"]) == ("ValueError", "boom") and error["stackTrace"]
    # A timeout kills the environment; the next call gets a fresh one.
    slow = lam.invoke(FunctionName=fn, Payload=b'{"sleep": 5}')
    assert slow["FunctionError"] == "Unhandled"
    assert json.loads(slow["Payload"].read())["errorMessage"].endswith("Task timed out after 2.00 seconds")
    assert json.loads(lam.invoke(FunctionName=fn, Payload=b'{"n": 3}')["Payload"].read())["echo"] == {"n": 3}
    with pytest.raises(ClientError) as e:
        lam.invoke(FunctionName=fn, Payload=b"not json")
    assert e.value.response["Error"]["Code"] == "InvalidRequestContentException"
    assert lam.invoke(FunctionName=fn, InvocationType="DryRun")["StatusCode"] == 204
    assert lam.invoke(FunctionName=fn, InvocationType="Event", Payload=b"{}")["StatusCode"] == 202


def test_function_lifecycle_and_errors(lam, aws, tmp_path):
    fn = name()
    zip_path = tmp_path / "fn.zip"
    zip_path.write_bytes(package({"app.py": "def handler(e, c):\n    return 'v1'\n"}))
    aws("lambda", "create-function", "--function-name", fn, "--runtime", "python3.11", "--role", ROLE,
        "--handler", "app.handler", "--zip-file", f"fileb://{zip_path}")
    with pytest.raises(ClientError) as e:
        lam.create_function(FunctionName=fn, Runtime="python3.11", Role=ROLE, Handler="app.handler", Code={"ZipFile": zip_path.read_bytes()})
    assert e.value.response["Error"]["Code"] == "ResourceConflictException"
    assert fn in [f["FunctionName"] for f in lam.list_functions()["Functions"]]
    out = tmp_path / "out.json"
    aws("lambda", "invoke", "--function-name", fn, str(out))
    assert json.loads(out.read_text()) == "v1"
    lam.update_function_code(FunctionName=fn, ZipFile=package({"app.py": "def handler(e, c):\n    return 'v2'\n"}))
    assert json.loads(lam.invoke(FunctionName=fn)["Payload"].read()) == "v2"
    lam.update_function_configuration(FunctionName=fn, Handler="other.handler")
    broken = lam.invoke(FunctionName=fn)
    assert broken["FunctionError"] == "Unhandled" and json.loads(broken["Payload"].read())["errorType"] == "Runtime.ImportModuleError"
    config = lam.get_function(FunctionName=fn)["Configuration"]
    assert config["Handler"] == "other.handler" and config["Runtime"] == "python3.11"
    with pytest.raises(ClientError) as e:
        lam.create_function(FunctionName=name(), Runtime="python3.12", Role=ROLE, Handler="app.handler", Code={"ZipFile": b"not a zip"})
    assert e.value.response["Error"]["Code"] == "InvalidParameterValueException"
    with pytest.raises(ClientError) as e:
        lam.create_function(FunctionName=name(), Runtime="python2.7", Role=ROLE, Handler="app.handler", Code={"ZipFile": zip_path.read_bytes()})
    assert e.value.response["Error"]["Code"] == "InvalidParameterValueException"
    lam.delete_function(FunctionName=fn)
    with pytest.raises(ClientError) as e:
        lam.invoke(FunctionName=fn)
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_node_function_runs(lam):
    fn = name()
    code = "exports.handler = async (event, context) => ({ sum: event.a + event.b, name: context.functionName });\n"
    lam.create_function(FunctionName=fn, Runtime="nodejs20.x", Role=ROLE, Handler="index.handler", Code={"ZipFile": package({"index.js": code})})
    out = lam.invoke(FunctionName=fn, Payload=json.dumps({"a": 2, "b": 3}))
    assert json.loads(out["Payload"].read()) == {"sum": 5, "name": fn}
    failing = "exports.handler = async () => { throw new TypeError('nope'); };\n"
    lam.update_function_code(FunctionName=fn, ZipFile=package({"index.js": failing}))
    out = lam.invoke(FunctionName=fn)
    assert out["FunctionError"] == "Unhandled" and json.loads(out["Payload"].read())["errorType"] == "TypeError"


def test_custom_runtime_bootstrap(lam):
    """A provided.al2023 function: its own `bootstrap` speaks the Runtime API (here with curl-free shell and python)."""
    bootstrap = '''#!/bin/sh
exec python3 -c '
import json, os, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
while True:
    r = opener.open(api + "next")
    rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
    event = json.loads(r.read())
    body = json.dumps({"upper": event["text"].upper()}).encode()
    opener.open(urllib.request.Request(api + rid + "/response", data=body, method="POST")).read()
'
'''
    fn = name()
    lam.create_function(FunctionName=fn, Runtime="provided.al2023", Role=ROLE, Handler="unused",
                        Code={"ZipFile": package({"bootstrap": (bootstrap, 0o755)})})
    out = lam.invoke(FunctionName=fn, Payload=b'{"text": "shout"}')
    assert json.loads(out["Payload"].read()) == {"upper": "SHOUT"}


def test_function_calls_nubo_through_the_sdk_and_logs_to_cloudwatch(lam, boto):
    s3, logs = boto("s3"), boto("logs")
    bucket = name("uploads")
    s3.create_bucket(Bucket=bucket)
    code = f'''
import boto3

def handler(event, context):
    boto3.client("s3").put_object(Bucket="{bucket}", Key=event["key"], Body=b"written by a function")
    print("stored", event["key"])
    return "ok"
'''
    fn = name()
    lam.create_function(FunctionName=fn, Runtime="python3.11", Role=ROLE, Handler="app.handler", Code={"ZipFile": package({"app.py": code})}, Timeout=30)
    out = lam.invoke(FunctionName=fn, Payload=b'{"key": "hello.txt"}')
    assert json.loads(out["Payload"].read()) == "ok", out
    assert s3.get_object(Bucket=bucket, Key="hello.txt")["Body"].read() == b"written by a function"
    events = logs.filter_log_events(logGroupName=f"/aws/lambda/{fn}")["events"]
    messages = [e["message"] for e in events]
    assert messages[0].startswith("INIT_START Runtime Version: python:3.11") and messages[1].startswith("START RequestId: ")
    assert "stored hello.txt" in messages and messages[-1].startswith("REPORT RequestId: ")


def test_employee_directory_s3_upload_triggers_a_function_that_writes_dynamodb(lam, boto):
    """The seeds' pattern: a photo lands in S3, S3 notifies a function, the function records
    the employee in DynamoDB (and tells a queue it is done, for the test to wait on)."""
    s3, ddb, sqs, sns = boto("s3"), boto("dynamodb"), boto("sqs"), boto("sns")
    bucket, table = name("photos"), name("employees")
    s3.create_bucket(Bucket=bucket)
    ddb.create_table(TableName=table, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    done = sqs.create_queue(QueueName=name("done"))["QueueUrl"]
    code = f'''
import boto3

def handler(event, context):
    for record in event["Records"]:
        if "s3" in record:
            key = record["s3"]["object"]["key"]
            boto3.client("dynamodb").put_item(TableName="{table}", Item={{"id": {{"S": key.split("/")[-1].split(".")[0]}},
                                                                          "photo": {{"S": "s3://" + record["s3"]["bucket"]["name"] + "/" + key}}}})
            source = "s3:" + key
        else:
            source = "sns:" + record["Sns"]["Message"]
        boto3.client("sqs").send_message(QueueUrl="{done}", MessageBody=source)
    return "ok"
'''
    fn = name("directory")
    arn = lam.create_function(FunctionName=fn, Runtime="python3.11", Role=ROLE, Handler="app.handler",
                              Code={"ZipFile": package({"app.py": code})}, Timeout=30)["FunctionArn"]
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "LambdaFunctionConfigurations": [{"LambdaFunctionArn": arn, "Events": ["s3:ObjectCreated:*"]}]})
    s3.put_object(Bucket=bucket, Key="employees/e42.jpg", Body=b"\xff\xd8 not really a jpeg")
    got = sqs.receive_message(QueueUrl=done, WaitTimeSeconds=20).get("Messages", [])
    assert got and got[0]["Body"] == "s3:employees/e42.jpg"
    assert ddb.get_item(TableName=table, Key={"id": {"S": "e42"}})["Item"]["photo"] == {"S": f"s3://{bucket}/employees/e42.jpg"}
    # The same function subscribed to a topic.
    topic = sns.create_topic(Name=name("news"))["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=arn)
    sns.publish(TopicArn=topic, Message="hello function")
    got = sqs.receive_message(QueueUrl=done, WaitTimeSeconds=20).get("Messages", [])
    assert got and got[0]["Body"] == "sns:hello function"


def test_sqs_event_source_mapping_with_partial_batch_failure(lam, boto):
    sqs = boto("sqs")
    dlq = sqs.create_queue(QueueName=name("jobs-dlq"))["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    jobs = sqs.create_queue(QueueName=name("jobs"), Attributes={
        "VisibilityTimeout": "1", "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "1"})})["QueueUrl"]
    jobs_arn = sqs.get_queue_attributes(QueueUrl=jobs, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    results = sqs.create_queue(QueueName=name("results"))["QueueUrl"]
    code = f'''
import boto3

def handler(event, context):
    failures = []
    for record in event["Records"]:
        assert record["eventSource"] == "aws:sqs"
        if record["body"] == "bad":
            failures.append({{"itemIdentifier": record["messageId"]}})
        else:
            boto3.client("sqs").send_message(QueueUrl="{results}", MessageBody="done " + record["body"])
    return {{"batchItemFailures": failures}}
'''
    fn = name("worker")
    lam.create_function(FunctionName=fn, Runtime="python3.11", Role=ROLE, Handler="app.handler", Code={"ZipFile": package({"app.py": code})}, Timeout=30)
    mapping = lam.create_event_source_mapping(EventSourceArn=jobs_arn, FunctionName=fn, BatchSize=10, FunctionResponseTypes=["ReportBatchItemFailures"])
    assert mapping["EventSourceArn"] == jobs_arn and mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    sqs.send_message(QueueUrl=jobs, MessageBody="good")
    sqs.send_message(QueueUrl=jobs, MessageBody="bad")
    got = sqs.receive_message(QueueUrl=results, WaitTimeSeconds=20).get("Messages", [])
    assert got and got[0]["Body"] == "done good"
    # The reported failure stays in the queue, comes back, and lands in the DLQ.
    dead = sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=20).get("Messages", [])
    assert dead and dead[0]["Body"] == "bad"
    listed = lam.list_event_source_mappings(FunctionName=fn)["EventSourceMappings"]
    assert [m["UUID"] for m in listed] == [mapping["UUID"]] and listed[0]["State"] == "Enabled"
    lam.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)
    assert lam.get_event_source_mapping(UUID=mapping["UUID"])["State"] == "Disabled"
    lam.delete_event_source_mapping(UUID=mapping["UUID"])
    with pytest.raises(ClientError) as e:
        lam.get_event_source_mapping(UUID=mapping["UUID"])
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_permissions_tags_and_account_settings(lam):
    fn = name()
    arn = lam.create_function(FunctionName=fn, Runtime="python3.12", Role=ROLE, Handler="app.handler",
                              Code={"ZipFile": package({"app.py": "def handler(e, c):\n    return 1\n"})}, Tags={"team": "web"})["FunctionArn"]
    with pytest.raises(ClientError) as e:
        lam.get_policy(FunctionName=fn)
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    added = lam.add_permission(FunctionName=fn, StatementId="s3-invoke", Action="lambda:InvokeFunction", Principal="s3.amazonaws.com",
                               SourceArn="arn:aws:s3:::photos", SourceAccount="000000000000")
    statement = json.loads(added["Statement"])
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"} and statement["Condition"]["ArnLike"] == {"AWS:SourceArn": "arn:aws:s3:::photos"}
    with pytest.raises(ClientError) as e:
        lam.add_permission(FunctionName=fn, StatementId="s3-invoke", Action="lambda:InvokeFunction", Principal="s3.amazonaws.com")
    assert e.value.response["Error"]["Code"] == "ResourceConflictException"
    policy = json.loads(lam.get_policy(FunctionName=fn)["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["s3-invoke"] and policy["Statement"][0]["Resource"] == arn
    lam.remove_permission(FunctionName=fn, StatementId="s3-invoke")
    with pytest.raises(ClientError) as e:
        lam.remove_permission(FunctionName=fn, StatementId="s3-invoke")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    lam.tag_resource(Resource=arn, Tags={"env": "dev"})
    lam.untag_resource(Resource=arn, TagKeys=["team"])
    assert lam.list_tags(Resource=arn)["Tags"] == {"env": "dev"}
    settings = lam.get_account_settings()
    assert settings["AccountLimit"]["ConcurrentExecutions"] == 1000 and settings["AccountUsage"]["FunctionCount"] >= 1


def test_dynamodb_stream_event_source_mapping(lam, boto):
    ddb, sqs = boto("dynamodb"), boto("sqs")
    table = name("orders")
    stream = ddb.create_table(TableName=table, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                              AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
                              StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})["TableDescription"]["LatestStreamArn"]
    ddb.put_item(TableName=table, Item={"id": {"S": "before"}})
    seen = sqs.create_queue(QueueName=name("seen"))["QueueUrl"]
    code = f'''
import boto3

def handler(event, context):
    for r in event["Records"]:
        assert r["eventSource"] == "aws:dynamodb"
        boto3.client("sqs").send_message(QueueUrl="{seen}", MessageBody=r["eventName"] + " " + r["dynamodb"]["Keys"]["id"]["S"])
'''
    fn = name("audit")
    lam.create_function(FunctionName=fn, Runtime="python3.11", Role=ROLE, Handler="app.handler", Code={"ZipFile": package({"app.py": code})}, Timeout=30)
    mapping = lam.create_event_source_mapping(EventSourceArn=stream, FunctionName=fn, StartingPosition="LATEST", BatchSize=10)
    assert mapping["StartingPosition"] == "LATEST"
    ddb.put_item(TableName=table, Item={"id": {"S": "o1"}, "total": {"N": "10"}})
    ddb.delete_item(TableName=table, Key={"id": {"S": "o1"}})
    bodies = []
    while len(bodies) < 2:
        got = sqs.receive_message(QueueUrl=seen, WaitTimeSeconds=20, MaxNumberOfMessages=10).get("Messages", [])
        assert got, f"only {bodies} arrived"
        bodies += [m["Body"] for m in got]
        for m in got:
            sqs.delete_message(QueueUrl=seen, ReceiptHandle=m["ReceiptHandle"])
    assert bodies == ["INSERT o1", "REMOVE o1"]  # in order, and nothing from before LATEST
    lam.delete_event_source_mapping(UUID=mapping["UUID"])


def test_a_function_calls_aws_with_its_execution_role(tmp_path):
    """The environment holds the execution role's temporary credentials from STS: with IAM
    enforced, the function may do what its role allows and nothing more."""
    import boto3
    from conftest import Nubo
    n = Nubo("--enforce-iam")
    try:
        mk = lambda svc: boto3.client(svc, endpoint_url=n.endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
        iam, s3, lam = mk("iam"), mk("s3"), mk("lambda")
        allowed, other = name("allowed"), name("other")
        s3.create_bucket(Bucket=allowed)
        s3.create_bucket(Bucket=other)
        role = iam.create_role(RoleName=name("fn-role"), AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))["Role"]
        iam.put_role_policy(RoleName=role["RoleName"], PolicyName="s3", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{allowed}/*"},
            {"Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"}]}))
        code = f'''
import boto3

def handler(event, context):
    s3 = boto3.client("s3")
    s3.put_object(Bucket="{allowed}", Key="k", Body=b"by the role")
    try:
        s3.put_object(Bucket="{other}", Key="k", Body=b"no")
        other = "written"
    except Exception as e:
        other = getattr(e, "response", {{}}).get("Error", {{}}).get("Code")
    return {{"other": other, "arn": boto3.client("sts").get_caller_identity()["Arn"]}}
'''
        fn = name()
        lam.create_function(FunctionName=fn, Runtime="python3.11", Role=role["Arn"], Handler="app.handler", Code={"ZipFile": package({"app.py": code})}, Timeout=30)
        out = json.loads(lam.invoke(FunctionName=fn, Payload=b"{}")["Payload"].read())
        assert out == {"other": "AccessDenied", "arn": f"arn:aws:sts::000000000000:assumed-role/{role['RoleName']}/{fn}"}, out
        assert s3.get_object(Bucket=allowed, Key="k")["Body"].read() == b"by the role"
    finally:
        n.stop()


def test_a_function_url_answers_curl(lam, boto):
    code = '''
import json

def handler(event, context):
    if event["rawPath"] == "/raw":
        return {"plain": True}
    return {"statusCode": 201, "headers": {"content-type": "text/plain", "x-path": event["rawPath"]},
            "cookies": ["session=abc"], "body": f"{event['requestContext']['http']['method']} {event.get('body')} q={event['queryStringParameters']}"}
'''
    fn = name()
    lam.create_function(FunctionName=fn, Runtime="python3.11", Role=ROLE, Handler="app.handler", Code={"ZipFile": package({"app.py": code})})
    url = lam.create_function_url_config(FunctionName=fn, AuthType="NONE")["FunctionUrl"]
    assert url.startswith("http://") and ".lambda-url.us-east-1.localhost:" in url and url.endswith("/")
    with pytest.raises(ClientError) as e:
        lam.create_function_url_config(FunctionName=fn, AuthType="NONE")
    assert e.value.response["Error"]["Code"] == "ResourceConflictException"
    assert lam.get_function_url_config(FunctionName=fn)["FunctionUrl"] == url
    # curl resolves *.localhost to 127.0.0.1 by itself.
    p = subprocess.run(["curl", "-s", "-i", "-X", "POST", "-d", "hello", f"{url}orders?id=7"], capture_output=True, text=True, timeout=30)
    head, _, body = p.stdout.partition("\n\n")  # text mode turns \r\n into \n
    assert head.startswith("HTTP/1.1 201") and "x-path: /orders" in head.lower() and "set-cookie: session=abc" in head.lower()
    assert body == "POST hello q={'id': '7'}"
    p = subprocess.run(["curl", "-s", f"{url}raw"], capture_output=True, text=True, timeout=30)
    assert json.loads(p.stdout) == {"plain": True}
    assert [c["FunctionUrl"] for c in lam.list_function_url_configs(FunctionName=fn)["FunctionUrlConfigs"]] == [url]
    lam.delete_function_url_config(FunctionName=fn)
    assert subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", url], capture_output=True, text=True, timeout=30).stdout == "404"


def call_url(url, path="", method="GET", body=b"", headers=None, credentials=None):
    """Calls a function URL through 127.0.0.1 with its Host (Python does not resolve
    *.localhost itself), SigV4-signed for `lambda` when `credentials` are given."""
    import http.client
    import urllib.parse
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    parts = urllib.parse.urlsplit(url + path)
    headers = dict(headers or {})
    if credentials:
        req = AWSRequest(method=method, url=url + path, data=body, headers=headers)
        SigV4Auth(Credentials(*credentials), "lambda", "us-east-1").add_auth(req)
        headers = dict(req.headers.items())
    headers["Host"] = parts.netloc
    conn = http.client.HTTPConnection("127.0.0.1", parts.port, timeout=30)
    conn.request(method, parts.path + (f"?{parts.query}" if parts.query else ""), body=body or None, headers=headers)
    resp = conn.getresponse()
    out = (resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    conn.close()
    return out


WHO = '''
import json

def handler(event, context):
    return {"account": event["requestContext"]["accountId"], "iam": event["requestContext"].get("authorizer", {}).get("iam")}
'''


def test_a_function_url_with_iam_auth_answers_signed_callers_only(lam):
    fn = name()
    lam.create_function(FunctionName=fn, Runtime="python3.11", Role=ROLE, Handler="app.handler", Code={"ZipFile": package({"app.py": WHO})})
    url = lam.create_function_url_config(FunctionName=fn, AuthType="AWS_IAM")["FunctionUrl"]
    status, headers, body = call_url(url)
    assert (status, json.loads(body)) == (403, {"Message": "Forbidden"})
    status, _, body = call_url(url, method="POST", body=b'{"a": 1}', credentials=("test", "test"))
    assert status == 200, body
    out = json.loads(body)
    assert out["account"] == "000000000000" and out["iam"]["userArn"] == "arn:aws:iam::000000000000:root" and out["iam"]["accessKey"] == "test"
    # CORS: Lambda answers preflights itself, unsigned, and sets the headers of responses.
    lam.update_function_url_config(FunctionName=fn, Cors={"AllowOrigins": ["https://app.example.com"], "AllowMethods": ["GET", "POST"],
                                                          "AllowHeaders": ["authorization"], "ExposeHeaders": ["x-trace"], "MaxAge": 60})
    status, headers, body = call_url(url, method="OPTIONS", headers={"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST"})
    assert status == 200 and body == b""
    assert headers["access-control-allow-origin"] == "https://app.example.com" and headers["access-control-allow-methods"] == "GET,POST"
    assert headers["access-control-max-age"] == "60"
    status, headers, _ = call_url(url, headers={"Origin": "https://app.example.com"}, credentials=("test", "test"))
    assert status == 200 and headers["access-control-allow-origin"] == "https://app.example.com" and headers["access-control-expose-headers"] == "x-trace"
    status, headers, _ = call_url(url, headers={"Origin": "https://elsewhere.example.com"}, credentials=("test", "test"))
    assert status == 200 and "access-control-allow-origin" not in headers


def test_a_function_url_answers_on_its_own_address(lam, nubo):
    """Each URL has its own loopback address, nubo's DNS names it, and nubo listens on its
    port 80 (as root): clients that do not resolve *.localhost reach the function there."""
    import os
    import urllib.parse
    import urllib.request
    from conftest import dns_query
    fn = name()
    lam.create_function(FunctionName=fn, Runtime="python3.11", Role=ROLE, Handler="app.handler", Code={"ZipFile": package({"app.py": WHO})})
    host = urllib.parse.urlsplit(lam.create_function_url_config(FunctionName=fn, AuthType="NONE")["FunctionUrl"]).hostname
    health = lambda: json.loads(nubo.http("GET", "/_nubo/health")[2])
    rcode, addresses = dns_query(health()["dns"], host)
    assert rcode == 0 and len(addresses) == 1 and addresses[0].startswith("127.")
    status = health()["function_urls"][host]
    if os.geteuid() != 0:
        assert status.startswith(f"cannot listen on {addresses[0]}:80")
        pytest.skip("port 80 of a URL's address needs root")
    assert status == f"listening on {addresses[0]}:80"
    with urllib.request.urlopen(f"http://{addresses[0]}/anything", timeout=30) as r:
        assert r.status == 200 and json.loads(r.read()) == {"account": "anonymous", "iam": None}
    lam.delete_function(FunctionName=fn)  # the URL goes with its function, and its address
    assert host not in health()["function_urls"]
    assert dns_query(health()["dns"], host)[0] == 3
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://{addresses[0]}/", timeout=30)


def test_function_urls_under_enforcement_follow_iam_and_the_functions_policy():
    """With IAM enforced, an AWS_IAM URL answers only callers allowed lambda:InvokeFunctionUrl
    and lambda:InvokeFunction, and a NONE URL only once the function's policy makes it public."""
    import boto3
    from conftest import Nubo
    n = Nubo("--enforce-iam")
    try:
        mk = lambda svc, key="test", secret="test": boto3.client(svc, endpoint_url=n.endpoint, region_name="us-east-1", aws_access_key_id=key, aws_secret_access_key=secret)
        iam, lam = mk("iam"), mk("lambda")
        fn = name()
        arn = lam.create_function(FunctionName=fn, Runtime="python3.11", Role=ROLE, Handler="app.handler", Code={"ZipFile": package({"app.py": WHO})})["FunctionArn"]
        url = lam.create_function_url_config(FunctionName=fn, AuthType="AWS_IAM")["FunctionUrl"]

        def user(actions):
            u = name("user")
            iam.create_user(UserName=u)
            if actions:
                iam.put_user_policy(UserName=u, PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Action": actions, "Resource": arn}]}))
            k = iam.create_access_key(UserName=u)["AccessKey"]
            return k["AccessKeyId"], k["SecretAccessKey"]

        nobody, only_url, both = user([]), user(["lambda:InvokeFunctionUrl"]), user(["lambda:InvokeFunctionUrl", "lambda:InvokeFunction"])
        assert call_url(url, credentials=nobody)[:1] == (403,)
        assert call_url(url, credentials=only_url)[:1] == (403,)
        status, _, body = call_url(url, credentials=both)
        assert status == 200 and ":user/user-" in json.loads(body)["iam"]["userArn"] and json.loads(body)["iam"]["accessKey"] == both[0]
        status, _, body = call_url(url, credentials=(both[0], "wrong-secret"))
        assert status == 403 and json.loads(body)["message"].startswith("The request signature we calculated does not match")

        public = name()
        lam.create_function(FunctionName=public, Runtime="python3.11", Role=ROLE, Handler="app.handler", Code={"ZipFile": package({"app.py": WHO})})
        open_url = lam.create_function_url_config(FunctionName=public, AuthType="NONE")["FunctionUrl"]
        status, _, body = call_url(open_url)
        assert (status, json.loads(body)) == (403, {"Message": "Forbidden"})
        lam.add_permission(FunctionName=public, StatementId="url", Action="lambda:InvokeFunctionUrl", Principal="*", FunctionUrlAuthType="NONE")
        assert call_url(open_url)[0] == 403, "lambda:InvokeFunction is needed too"
        lam.add_permission(FunctionName=public, StatementId="invoke", Action="lambda:InvokeFunction", Principal="*", InvokedViaFunctionUrl=True)
        status, _, body = call_url(open_url)
        assert status == 200 and json.loads(body) == {"account": "anonymous", "iam": None}
        statement = json.loads(lam.get_policy(FunctionName=public)["Policy"])["Statement"][0]
        assert statement["Condition"] == {"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}}
    finally:
        n.stop()


TICKING = '''
import threading, time

ticks = {"n": 0}

def tick():
    while True:
        ticks["n"] += 1
        time.sleep(0.001)

def handler(event, context):
    if event.get("start"):
        threading.Thread(target=tick, daemon=True).start()
    return ticks["n"]
'''


def environment_states(fn):
    """The states (/proc/<pid>/stat) of the processes that carry the function's name."""
    import os
    states = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if f"AWS_LAMBDA_FUNCTION_NAME={fn}".encode() not in f.read().split(b"\0"):
                    continue
            with open(f"/proc/{pid}/stat") as f:
                states.append(f.read().rsplit(")", 1)[1].split()[0])
        except OSError:
            continue
    return states


def test_environments_are_frozen_between_invocations(lam):
    """As on Lambda, nothing a function left running runs while its environment waits for
    the next event: the environment is stopped, and thawed for the next invocation."""
    from conftest import until
    fn = name()
    lam.create_function(FunctionName=fn, Runtime="python3.11", Role=ROLE, Handler="app.handler", Code={"ZipFile": package({"app.py": TICKING})})
    first = json.loads(lam.invoke(FunctionName=fn, Payload=b'{"start": true}')["Payload"].read())
    until("the environment to be frozen", lambda: environment_states(fn) and all(s == "T" for s in environment_states(fn)))
    second = json.loads(lam.invoke(FunctionName=fn, Payload=b"{}")["Payload"].read())
    assert second >= first
    until("the environment to be frozen again", lambda: environment_states(fn) and all(s == "T" for s in environment_states(fn)))
    lam.delete_function(FunctionName=fn)
    until("the environment to end", lambda: not environment_states(fn))


VERSIONED = '''
import os
def handler(event, context):
    return {"says": "%s", "version": os.environ["AWS_LAMBDA_FUNCTION_VERSION"]}
'''


def test_versions_and_weighted_aliases_run_what_was_published(lam):
    fn = name()
    v1 = lam.create_function(FunctionName=fn, Runtime="python3.11", Role=ROLE, Handler="app.handler",
                             Code={"ZipFile": package({"app.py": VERSIONED % "one"})}, Publish=True)
    assert v1["Version"] == "1" and v1["FunctionArn"].endswith(f":function:{fn}:1")
    lam.update_function_code(FunctionName=fn, ZipFile=package({"app.py": VERSIONED % "two"}))
    assert lam.publish_version(FunctionName=fn, Description="second")["Version"] == "2"
    # Nothing changed since: the same version again.
    assert lam.publish_version(FunctionName=fn)["Version"] == "2"
    with pytest.raises(ClientError) as e:
        lam.publish_version(FunctionName=fn, CodeSha256="nope")
    assert e.value.response["Error"]["Code"] == "InvalidParameterValueException"
    versions = [v["Version"] for v in lam.list_versions_by_function(FunctionName=fn)["Versions"]]
    assert versions == ["$LATEST", "1", "2"]

    def run(**kw):
        out = lam.invoke(FunctionName=fn, **kw)
        return json.loads(out["Payload"].read()), out["ExecutedVersion"]

    assert run(Qualifier="1") == ({"says": "one", "version": "1"}, "1")
    assert run() == ({"says": "two", "version": "$LATEST"}, "$LATEST")
    assert lam.invoke(FunctionName=f"{fn}:2")["ExecutedVersion"] == "2"
    with pytest.raises(ClientError) as e:
        lam.invoke(FunctionName=fn, Qualifier="9")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    # An alias names a version; with weights, a share goes to a second one.
    alias = lam.create_alias(FunctionName=fn, Name="live", FunctionVersion="1", Description="prod")
    assert alias["AliasArn"].endswith(f":function:{fn}:live")
    assert run(Qualifier="live") == ({"says": "one", "version": "1"}, "1")
    with pytest.raises(ClientError) as e:
        lam.create_alias(FunctionName=fn, Name="live", FunctionVersion="2")
    assert e.value.response["Error"]["Code"] == "ResourceConflictException"
    lam.update_alias(FunctionName=fn, Name="live", FunctionVersion="2", RoutingConfig={"AdditionalVersionWeights": {"1": 0.5}})
    seen = {run(Qualifier="live")[1] for _ in range(40)}
    assert seen == {"1", "2"}
    assert [a["Name"] for a in lam.list_aliases(FunctionName=fn)["Aliases"]] == ["live"]
    assert lam.get_function_configuration(FunctionName=fn, Qualifier="1")["Version"] == "1"
    # A version an alias uses stays.
    with pytest.raises(ClientError) as e:
        lam.delete_function(FunctionName=fn, Qualifier="1")
    assert e.value.response["Error"]["Code"] == "ResourceConflictException"
    lam.delete_alias(FunctionName=fn, Name="live")
    lam.delete_function(FunctionName=fn, Qualifier="1")
    assert [v["Version"] for v in lam.list_versions_by_function(FunctionName=fn)["Versions"]] == ["$LATEST", "2"]
    lam.delete_function(FunctionName=fn)


def test_reserved_concurrency_throttles_and_invocations_reach_cloudwatch(lam, boto, nubo):
    import datetime
    import time
    fn = name()
    lam.create_function(FunctionName=fn, Runtime="python3.11", Role=ROLE, Handler="app.handler", Code={"ZipFile": package({"app.py": PYTHON})})
    assert lam.put_function_concurrency(FunctionName=fn, ReservedConcurrentExecutions=0)["ReservedConcurrentExecutions"] == 0
    with pytest.raises(ClientError) as e:
        lam.invoke(FunctionName=fn, Payload=b"{}")
    assert e.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert e.value.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert lam.get_function(FunctionName=fn)["Concurrency"]["ReservedConcurrentExecutions"] == 0
    with pytest.raises(ClientError) as e:
        lam.put_function_concurrency(FunctionName=fn, ReservedConcurrentExecutions=950)
    assert e.value.response["Error"]["Code"] == "InvalidParameterValueException"
    lam.put_function_concurrency(FunctionName=fn, ReservedConcurrentExecutions=10)
    assert lam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"] <= 990
    lam.delete_function_concurrency(FunctionName=fn)
    assert "ReservedConcurrentExecutions" not in lam.get_function_concurrency(FunctionName=fn)
    lam.invoke(FunctionName=fn, Payload=b"{}")
    lam.invoke(FunctionName=fn, Payload=b"{}")
    assert lam.invoke(FunctionName=fn, Payload=json.dumps({"fail": True}))["FunctionError"] == "Unhandled"
    # The minute ends on nubo's clock: AWS/Lambda has it.
    status, _, _ = nubo.http("POST", "/_nubo/clock", b'{"advance": "60s"}')
    assert status == 200
    cw = boto("cloudwatch")
    now = datetime.datetime.now(datetime.timezone.utc)

    def total(metric, stat="Sum"):
        points = cw.get_metric_statistics(Namespace="AWS/Lambda", MetricName=metric, Dimensions=[{"Name": "FunctionName", "Value": fn}],
                                          StartTime=now - datetime.timedelta(hours=1), EndTime=now + datetime.timedelta(hours=2),
                                          Period=60, Statistics=[stat])["Datapoints"]
        return sum(p[stat] for p in points) if points else None

    deadline = time.monotonic() + 20
    while total("Invocations") != 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    # (the client's retry of the throttled call was throttled too)
    assert total("Invocations") == 3 and total("Errors") == 1 and total("Throttles") >= 1
    assert total("Duration", "SampleCount") == 3


def test_code_from_s3_creates_and_updates_a_function(lam, boto):
    s3 = boto("s3")
    bucket = name("code")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="v1.zip", Body=package({"app.py": VERSIONED % "from s3"}))
    fn = name()
    with pytest.raises(ClientError) as e:
        lam.create_function(FunctionName=fn, Runtime="python3.11", Role=ROLE, Handler="app.handler", Code={"S3Bucket": bucket, "S3Key": "missing.zip"})
    assert e.value.response["Error"]["Code"] == "InvalidParameterValueException" and "NoSuchKey" in e.value.response["Error"]["Message"]
    lam.create_function(FunctionName=fn, Runtime="python3.11", Role=ROLE, Handler="app.handler", Code={"S3Bucket": bucket, "S3Key": "v1.zip"})
    assert json.loads(lam.invoke(FunctionName=fn)["Payload"].read())["says"] == "from s3"
    s3.put_object(Bucket=bucket, Key="v2.zip", Body=package({"app.py": VERSIONED % "updated"}))
    lam.update_function_code(FunctionName=fn, S3Bucket=bucket, S3Key="v2.zip")
    assert json.loads(lam.invoke(FunctionName=fn)["Payload"].read())["says"] == "updated"


def test_asynchronous_invocations_retry_then_reach_their_destinations_and_dead_letter_queue(lam, boto, nubo):
    import time
    sqs = boto("sqs")

    def queue(prefix):
        url = sqs.create_queue(QueueName=name(prefix))["QueueUrl"]
        return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    (ok_url, ok_arn), (fail_url, fail_arn), (dlq_url, dlq_arn) = queue("ok"), queue("fail"), queue("dlq")
    fn = name()
    created = lam.create_function(FunctionName=fn, Runtime="python3.11", Role=ROLE, Handler="app.handler",
                                  Code={"ZipFile": package({"app.py": PYTHON})}, DeadLetterConfig={"TargetArn": dlq_arn})
    assert created["DeadLetterConfig"]["TargetArn"] == dlq_arn
    with pytest.raises(ClientError) as e:
        lam.put_function_event_invoke_config(FunctionName=fn, MaximumRetryAttempts=3)
    assert e.value.response["Error"]["Code"] == "ValidationException"
    config = lam.put_function_event_invoke_config(FunctionName=fn, MaximumRetryAttempts=1, DestinationConfig={
        "OnSuccess": {"Destination": ok_arn}, "OnFailure": {"Destination": fail_arn}})
    assert config["FunctionArn"].endswith(f":function:{fn}:$LATEST") and config["MaximumRetryAttempts"] == 1
    assert lam.get_function_event_invoke_config(FunctionName=fn)["DestinationConfig"]["OnFailure"]["Destination"] == fail_arn

    def receive(url):
        got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10, MessageAttributeNames=["All"]).get("Messages", [])
        return got[0] if got else None

    assert lam.invoke(FunctionName=fn, InvocationType="Event", Payload=json.dumps({"n": 1}))["StatusCode"] == 202
    record = json.loads(receive(ok_url)["Body"])
    assert record["requestContext"]["condition"] == "Success" and record["requestPayload"] == {"n": 1}
    assert record["responsePayload"]["echo"] == {"n": 1} and record["responseContext"]["executedVersion"] == "$LATEST"
    # A failing event is retried once, a minute later on nubo's clock, then given up.
    lam.invoke(FunctionName=fn, InvocationType="Event", Payload=json.dumps({"fail": True}))
    deadline = time.monotonic() + 20
    failed = None
    while failed is None and time.monotonic() < deadline:
        nubo.http("POST", "/_nubo/clock", b'{"advance": "61s"}')
        got = sqs.receive_message(QueueUrl=fail_url, WaitTimeSeconds=1).get("Messages", [])
        failed = got[0] if got else None
    record = json.loads(failed["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted" and record["requestContext"]["approximateInvokeCount"] == 2
    assert record["responseContext"]["functionError"] == "ValueError" and record["responsePayload"]["errorMessage"] == "boom"
    dead = receive(dlq_url)
    assert json.loads(dead["Body"]) == {"fail": True}
    assert dead["MessageAttributes"]["ErrorMessage"]["StringValue"] == "boom" and "RequestID" in dead["MessageAttributes"]
    lam.delete_function_event_invoke_config(FunctionName=fn)
    with pytest.raises(ClientError) as e:
        lam.get_function_event_invoke_config(FunctionName=fn)
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_layers_put_their_code_where_the_runtime_finds_it(lam):
    import urllib.request
    layer = name("layer")
    published = lam.publish_layer_version(LayerName=layer, Description="helpers", CompatibleRuntimes=["python3.11"],
                                          Content={"ZipFile": package({"python/helper.py": "def greet(n):\n    return 'hello ' + n\n"})})
    assert published["Version"] == 1 and published["LayerVersionArn"].endswith(f":layer:{layer}:1")
    assert lam.publish_layer_version(LayerName=layer, Content={"ZipFile": package({"python/helper.py": "def greet(n):\n    return 'hi ' + n\n"})})["Version"] == 2
    assert lam.get_layer_version_by_arn(Arn=published["LayerVersionArn"])["Description"] == "helpers"
    assert [v["Version"] for v in lam.list_layer_versions(LayerName=layer)["LayerVersions"]] == [2, 1]
    assert any(x["LayerName"] == layer and x["LatestMatchingVersion"]["Version"] == 2 for x in lam.list_layers()["Layers"])
    fn = name()
    code = "import helper\ndef handler(event, context):\n    return helper.greet(event['who'])\n"
    with pytest.raises(ClientError) as e:
        lam.create_function(FunctionName=fn, Runtime="python3.11", Role=ROLE, Handler="app.handler", Code={"ZipFile": package({"app.py": code})},
                            Layers=[published["LayerVersionArn"].replace(":1", ":9")])
    assert e.value.response["Error"]["Code"] == "InvalidParameterValueException"
    created = lam.create_function(FunctionName=fn, Runtime="python3.11", Role=ROLE, Handler="app.handler", Code={"ZipFile": package({"app.py": code})},
                                  Layers=[published["LayerVersionArn"]])
    assert created["Layers"][0]["Arn"] == published["LayerVersionArn"]
    assert json.loads(lam.invoke(FunctionName=fn, Payload=json.dumps({"who": "nubo"}))["Payload"].read()) == "hello nubo"
    lam.update_function_configuration(FunctionName=fn, Layers=[published["LayerVersionArn"].replace(":1", ":2")])
    assert json.loads(lam.invoke(FunctionName=fn, Payload=json.dumps({"who": "nubo"}))["Payload"].read()) == "hi nubo"
    # Code.Location really downloads the deployment package.
    location = lam.get_function(FunctionName=fn)["Code"]["Location"]
    with urllib.request.urlopen(location) as r:
        assert zipfile.ZipFile(io.BytesIO(r.read())).namelist() == ["app.py"]
    lam.delete_layer_version(LayerName=layer, VersionNumber=1)
    assert [v["Version"] for v in lam.list_layer_versions(LayerName=layer)["LayerVersions"]] == [2]


def test_an_environment_idle_for_ten_minutes_of_nubos_clock_is_stopped(lam, nubo):
    import time
    fn = name()
    lam.create_function(FunctionName=fn, Runtime="python3.11", Role=ROLE, Handler="app.handler", Code={"ZipFile": package({"app.py": PYTHON})})

    def report():
        tail = base64.b64decode(lam.invoke(FunctionName=fn, Payload=b"{}", LogType="Tail")["LogResult"]).decode()
        return next(line for line in tail.splitlines() if line.startswith("REPORT"))

    assert "Init Duration" in report()
    assert "Init Duration" not in report(), "the environment is reused while warm"
    # The reaper runs each minute of the clock: the next invocation starts cold. (An
    # invocation that beats the reaper warms the environment again: idle it once more.)
    deadline = time.monotonic() + 20
    nubo.http("POST", "/_nubo/clock", b'{"advance": "11m"}')
    while "Init Duration" not in report():
        assert time.monotonic() < deadline, "the idle environment was never stopped"
        nubo.http("POST", "/_nubo/clock", b'{"advance": "11m"}')
        time.sleep(0.05)


ISOLATION_PROBE = '''
import os

def handler(event, context):
    wrote_host = True
    try:
        with open(event["host_file"], "w") as f:
            f.write("from a function")
    except OSError:
        wrote_host = False
    with open("/tmp/scratch", "w") as f:
        f.write("mine")
    try:
        open("/var/task/app.py", "a").close()
        code_writable = True
    except OSError:
        code_writable = False
    if event.get("hog"):
        hog = bytearray(event["hog"] * 1024 * 1024)
        for i in range(0, len(hog), 4096):
            hog[i] = 1
    return {"pid": os.getpid(), "cwd": os.getcwd(), "task_root": os.environ["LAMBDA_TASK_ROOT"], "opt": sorted(os.listdir("/opt")),
            "tmp": os.statvfs("/tmp").f_blocks * os.statvfs("/tmp").f_frsize // (1024 * 1024), "code_writable": code_writable,
            "wrote_host": wrote_host, "processes": sorted(int(p) for p in os.listdir("/proc") if p.isdigit())}
'''


@pytest.mark.skipif(__import__("os").geteuid() != 0, reason="sandboxed environments need namespaces: run as root (as CI does)")
def test_functions_run_sandboxed_with_their_code_layers_tmp_and_memory(lam, tmp_path):
    layer = lam.publish_layer_version(LayerName=name("tools"), Content={"ZipFile": package({"bin/tool": ("#!/bin/sh\necho tool\n", 0o755)})})["LayerVersionArn"]
    fn = name()
    lam.create_function(FunctionName=fn, Runtime="python3.12", Role=ROLE, Handler="app.handler", Code={"ZipFile": package({"app.py": ISOLATION_PROBE})},
                        Layers=[layer], MemorySize=128, EphemeralStorage={"Size": 600}, Timeout=30)
    host_file = tmp_path / "written-by-a-function"
    out = lam.invoke(FunctionName=fn, Payload=json.dumps({"host_file": str(host_file)}), LogType="Tail")
    got = json.loads(out["Payload"].read())
    assert (got["cwd"], got["task_root"]) == ("/var/task", "/var/task")
    assert got["opt"] == ["bin"], "layers are at /opt"
    assert got["tmp"] == 600, "/tmp is the ephemeral storage"
    assert got["code_writable"] is False, "the code is read-only"
    assert not host_file.exists(), "what a function writes stays in its environment"
    assert got["processes"][0] == 1 and len(got["processes"]) <= 3, f"its own PID namespace: {got['processes']}"
    report = [line for line in base64.b64decode(out["LogResult"]).decode().splitlines() if line.startswith("REPORT")][0]
    used = int(report.split("Max Memory Used: ")[1].split(" MB")[0])
    assert 1 <= used <= 128
    # Memory size is a limit: going past it ends the environment, as on AWS.
    hog = lam.invoke(FunctionName=fn, Payload=json.dumps({"host_file": str(host_file), "hog": 400}))
    assert hog["FunctionError"] == "Unhandled"
    assert json.loads(hog["Payload"].read())["errorType"] == "Runtime.ExitError"
    assert json.loads(lam.invoke(FunctionName=fn, Payload=json.dumps({"host_file": str(host_file)}))["Payload"].read())["task_root"] == "/var/task"


def test_provisioned_concurrency_starts_environments_ahead(lam):
    import time
    fn = name()
    code = "import os\ndef handler(event, context):\n    return os.environ['AWS_LAMBDA_INITIALIZATION_TYPE']\n"
    lam.create_function(FunctionName=fn, Runtime="python3.11", Role=ROLE, Handler="app.handler", Code={"ZipFile": package({"app.py": code})})
    with pytest.raises(ClientError) as e:
        lam.put_provisioned_concurrency_config(FunctionName=fn, Qualifier="$LATEST", ProvisionedConcurrentExecutions=1)
    assert e.value.response["Error"]["Code"] == "InvalidParameterValueException"
    version = lam.publish_version(FunctionName=fn)["Version"]
    lam.create_alias(FunctionName=fn, Name="live", FunctionVersion=version)
    with pytest.raises(ClientError) as e:
        lam.get_provisioned_concurrency_config(FunctionName=fn, Qualifier="live")
    assert e.value.response["Error"]["Code"] == "ProvisionedConcurrencyConfigNotFoundException"
    put = lam.put_provisioned_concurrency_config(FunctionName=fn, Qualifier="live", ProvisionedConcurrentExecutions=2)
    assert put["RequestedProvisionedConcurrentExecutions"] == 2 and put["Status"] == "IN_PROGRESS"
    deadline = time.monotonic() + 30
    while lam.get_provisioned_concurrency_config(FunctionName=fn, Qualifier="live")["Status"] != "READY":
        assert time.monotonic() < deadline, "READY in time"
        time.sleep(0.05)
    got = lam.get_provisioned_concurrency_config(FunctionName=fn, Qualifier="live")
    assert got["AvailableProvisionedConcurrentExecutions"] == 2 and got["AllocatedProvisionedConcurrentExecutions"] == 2
    # An invocation finds a provisioned environment: already initialized, no INIT_START.
    out = lam.invoke(FunctionName=fn, Qualifier="live", LogType="Tail")
    assert json.loads(out["Payload"].read()) == "provisioned-concurrency"
    assert "INIT_START" not in base64.b64decode(out["LogResult"]).decode() and "Init Duration" not in base64.b64decode(out["LogResult"]).decode()
    listed = lam.list_provisioned_concurrency_configs(FunctionName=fn)["ProvisionedConcurrencyConfigs"]
    assert [c["FunctionArn"].rsplit(":", 1)[1] for c in listed] == ["live"]
    lam.delete_provisioned_concurrency_config(FunctionName=fn, Qualifier="live")
    assert lam.list_provisioned_concurrency_configs(FunctionName=fn)["ProvisionedConcurrencyConfigs"] == []
