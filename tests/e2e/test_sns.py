"""SNS through boto3 and the AWS CLI: topics, subscriptions, fan-out to SQS, filters."""

import json
import uuid

import pytest
from botocore.exceptions import ClientError


def code(e):
    return e.value.response["Error"]["Code"], e.value.response["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture
def sns(boto):
    return boto("sns")


@pytest.fixture
def sqs(boto):
    return boto("sqs")


def queue(sqs, name=None):
    url = sqs.create_queue(QueueName=name or f"sub-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def drain(sqs, url):
    return [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])]


def test_topics_lifecycle(sns):
    name = f"t-{uuid.uuid4().hex[:8]}"
    arn = sns.create_topic(Name=name, Attributes={"DisplayName": "Orders"}, Tags=[{"Key": "team", "Value": "core"}])["TopicArn"]
    assert arn == f"arn:aws:sns:us-east-1:000000000000:{name}"
    assert sns.create_topic(Name=name)["TopicArn"] == arn
    assert arn in [t["TopicArn"] for t in sns.list_topics()["Topics"]]
    attrs = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attrs["DisplayName"] == "Orders" and attrs["TopicArn"] == arn and "Policy" in attrs
    sns.set_topic_attributes(TopicArn=arn, AttributeName="DisplayName", AttributeValue="Renamed")
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["DisplayName"] == "Renamed"
    assert sns.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "core"}]
    sns.delete_topic(TopicArn=arn)
    with pytest.raises(ClientError) as e:
        sns.get_topic_attributes(TopicArn=arn)
    assert code(e) == ("NotFound", 404)
    with pytest.raises(ClientError) as e:
        sns.create_topic(Name="bad name")
    assert code(e) == ("InvalidParameter", 400)


def test_publish_to_sqs_envelope_and_raw(sns, sqs):
    arn = sns.create_topic(Name=f"t-{uuid.uuid4().hex[:8]}")["TopicArn"]
    env_url, env_arn = queue(sqs)
    raw_url, raw_arn = queue(sqs)
    sub = sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=env_arn)["SubscriptionArn"]
    assert sub.startswith(arn + ":")
    raw_sub = sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=raw_arn, Attributes={"RawMessageDelivery": "true"})["SubscriptionArn"]
    assert sns.get_subscription_attributes(SubscriptionArn=raw_sub)["Attributes"]["RawMessageDelivery"] == "true"
    mid = sns.publish(TopicArn=arn, Message="hello", Subject="greeting",
                      MessageAttributes={"kind": {"DataType": "String", "StringValue": "test"}})["MessageId"]
    envelope = json.loads(drain(sqs, env_url)[0])
    assert envelope["Type"] == "Notification" and envelope["MessageId"] == mid and envelope["TopicArn"] == arn
    assert envelope["Message"] == "hello" and envelope["Subject"] == "greeting"
    assert envelope["MessageAttributes"] == {"kind": {"Type": "String", "Value": "test"}}
    raw = sqs.receive_message(QueueUrl=raw_url, MessageAttributeNames=["All"])["Messages"][0]
    assert raw["Body"] == "hello" and raw["MessageAttributes"]["kind"]["StringValue"] == "test"
    subs = sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
    assert sorted(s["Endpoint"] for s in subs) == sorted([env_arn, raw_arn])
    sns.unsubscribe(SubscriptionArn=sub)
    sns.publish(TopicArn=arn, Message="after unsubscribe")
    assert drain(sqs, env_url) == []


def test_fan_out_to_three_queues_with_a_filter_policy(sns, sqs):
    arn = sns.create_topic(Name=f"orders-{uuid.uuid4().hex[:8]}")["TopicArn"]
    all_url, all_arn = queue(sqs)
    big_url, big_arn = queue(sqs)
    eu_url, eu_arn = queue(sqs)
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=all_arn, Attributes={"RawMessageDelivery": "true"})
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=big_arn, Attributes={
        "RawMessageDelivery": "true", "FilterPolicy": json.dumps({"amount": [{"numeric": [">=", 100]}]})})
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=eu_arn, Attributes={
        "RawMessageDelivery": "true", "FilterPolicy": json.dumps({"region": [{"prefix": "eu-"}], "kind": [{"anything-but": "test"}]})})
    orders = [("o1", "50", "eu-west-1", "real"), ("o2", "150", "us-east-1", "real"), ("o3", "500", "eu-central-1", "test"), ("o4", "120", "eu-north-1", "real")]
    for body, amount, region, kind in orders:
        sns.publish(TopicArn=arn, Message=body, MessageAttributes={
            "amount": {"DataType": "Number", "StringValue": amount},
            "region": {"DataType": "String", "StringValue": region},
            "kind": {"DataType": "String", "StringValue": kind}})
    assert sorted(drain(sqs, all_url)) == ["o1", "o2", "o3", "o4"]
    assert sorted(drain(sqs, big_url)) == ["o2", "o3", "o4"]
    assert sorted(drain(sqs, eu_url)) == ["o1", "o4"]


def test_body_filter_and_message_structure(sns, sqs):
    arn = sns.create_topic(Name=f"t-{uuid.uuid4().hex[:8]}")["TopicArn"]
    url, qarn = queue(sqs)
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=qarn, Attributes={
        "RawMessageDelivery": "true", "FilterPolicyScope": "MessageBody", "FilterPolicy": json.dumps({"order": {"status": ["paid"]}})})
    sns.publish(TopicArn=arn, Message=json.dumps({"order": {"status": "open"}}))
    sns.publish(TopicArn=arn, Message=json.dumps({"order": {"status": "paid"}}))
    assert drain(sqs, url) == [json.dumps({"order": {"status": "paid"}})]
    url2, qarn2 = queue(sqs)
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=qarn2, Attributes={"RawMessageDelivery": "true"})
    sns.publish(TopicArn=arn, MessageStructure="json", Message=json.dumps({"default": "plain", "sqs": "for queues"}))
    assert drain(sqs, url2) == ["for queues"]
    with pytest.raises(ClientError) as e:
        sns.publish(TopicArn=arn, MessageStructure="json", Message=json.dumps({"sqs": "no default"}))
    assert code(e) == ("InvalidParameter", 400)


def test_email_subscription_confirms_through_the_outbox(nubo, sns):
    arn = sns.create_topic(Name=f"t-{uuid.uuid4().hex[:8]}")["TopicArn"]
    address = f"{uuid.uuid4().hex[:6]}@example.com"
    assert sns.subscribe(TopicArn=arn, Protocol="email", Endpoint=address)["SubscriptionArn"] == "pending confirmation"
    outbox = json.loads(nubo.http("GET", "/_nubo/sns/outbox")[2])["messages"]
    request = json.loads(next(m for m in outbox if m["endpoint"] == address)["message"])
    assert request["Type"] == "SubscriptionConfirmation"
    sns.publish(TopicArn=arn, Message="not yet")
    confirmed = sns.confirm_subscription(TopicArn=arn, Token=request["Token"])["SubscriptionArn"]
    assert confirmed.startswith(arn + ":")
    sns.publish(TopicArn=arn, Message="now you get it", Subject="Hi")
    mails = [m for m in json.loads(nubo.http("GET", "/_nubo/sns/outbox")[2])["messages"] if m["endpoint"] == address]
    assert [m["message"] for m in mails[1:]] == ["now you get it"] and mails[1]["subject"] == "Hi"
    sms = sns.publish(PhoneNumber="+15555550100", Message="code 1234")
    assert sms["MessageId"]


def test_publish_batch_and_errors(sns, sqs):
    arn = sns.create_topic(Name=f"t-{uuid.uuid4().hex[:8]}")["TopicArn"]
    url, qarn = queue(sqs)
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=qarn, Attributes={"RawMessageDelivery": "true"})
    out = sns.publish_batch(TopicArn=arn, PublishBatchRequestEntries=[{"Id": f"m{i}", "Message": f"batch {i}"} for i in range(3)])
    assert len(out["Successful"]) == 3
    assert sorted(drain(sqs, url)) == ["batch 0", "batch 1", "batch 2"]
    with pytest.raises(ClientError) as e:
        sns.publish_batch(TopicArn=arn, PublishBatchRequestEntries=[{"Id": "a", "Message": "x"}, {"Id": "a", "Message": "y"}])
    assert code(e)[0] == "BatchEntryIdsNotDistinct"
    with pytest.raises(ClientError) as e:
        sns.publish(TopicArn=arn.replace(":t-", ":missing-"), Message="x")
    assert code(e) == ("NotFound", 404)
    with pytest.raises(ClientError) as e:
        sns.subscribe(TopicArn=arn, Protocol="carrier-pigeon", Endpoint="x")
    assert code(e) == ("InvalidParameter", 400)


def test_fifo_topic_deduplicates(sns, sqs):
    arn = sns.create_topic(Name=f"f-{uuid.uuid4().hex[:8]}.fifo", Attributes={"FifoTopic": "true", "ContentBasedDeduplication": "true"})["TopicArn"]
    first = sns.publish(TopicArn=arn, Message="once", MessageGroupId="g")
    again = sns.publish(TopicArn=arn, Message="once", MessageGroupId="g")
    assert first["MessageId"] == again["MessageId"] and first["SequenceNumber"]
    with pytest.raises(ClientError) as e:
        sns.publish(TopicArn=arn, Message="no group")
    assert code(e) == ("InvalidParameter", 400)


def test_cli(aws):
    name = f"cli-{uuid.uuid4().hex[:8]}"
    arn = aws("sns", "create-topic", "--name", name)["TopicArn"]
    qurl = aws("sqs", "create-queue", "--queue-name", name)["QueueUrl"]
    qarn = aws("sqs", "get-queue-attributes", "--queue-url", qurl, "--attribute-names", "QueueArn")["Attributes"]["QueueArn"]
    aws("sns", "subscribe", "--topic-arn", arn, "--protocol", "sqs", "--notification-endpoint", qarn)
    aws("sns", "publish", "--topic-arn", arn, "--message", "from the cli")
    body = json.loads(aws("sqs", "receive-message", "--queue-url", qurl)["Messages"][0]["Body"])
    assert body["Message"] == "from the cli"
    assert arn in [t["TopicArn"] for t in aws("sns", "list-topics")["Topics"]]


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_http_subscriber_confirms_and_receives_notifications(nubo, sns, scheme, tmp_path):
    import http.server
    import ssl
    import subprocess
    import threading
    import urllib.request

    received, confirmed, notified = [], threading.Event(), threading.Event()

    class Endpoint(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append((self.headers["x-amz-sns-message-type"], body))
            self.send_response(200)
            self.end_headers()
            if body["Type"] == "SubscriptionConfirmation":
                with urllib.request.urlopen(body["SubscribeURL"]) as r:  # what a real endpoint does
                    assert r.status == 200
                confirmed.set()
            else:
                notified.set()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Endpoint)
    if scheme == "https":
        # A self-signed certificate, as a local endpoint has.
        key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost"],
                       check=True, capture_output=True)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(cert), str(key))
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        arn = sns.create_topic(Name=f"web-{uuid.uuid4().hex[:8]}")["TopicArn"]
        endpoint = f"{scheme}://127.0.0.1:{server.server_port}/hook"
        assert sns.subscribe(TopicArn=arn, Protocol=scheme, Endpoint=endpoint)["SubscriptionArn"] == "pending confirmation"
        assert confirmed.wait(10)
        subs = sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
        assert subs[0]["SubscriptionArn"].startswith(arn + ":")
        sns.publish(TopicArn=arn, Message=f"over {scheme}", Subject="s")
        assert notified.wait(10)
        kind, note = received[-1]
        assert kind == "Notification" and note["Message"] == f"over {scheme}" and note["TopicArn"] == arn
    finally:
        server.shutdown()


def test_non_loopback_endpoints_are_never_contacted(nubo, sns):
    arn = sns.create_topic(Name=f"far-{uuid.uuid4().hex[:8]}")["TopicArn"]
    endpoint = "http://192.0.2.10/hook"  # TEST-NET: must not be connected to
    assert sns.subscribe(TopicArn=arn, Protocol="http", Endpoint=endpoint)["SubscriptionArn"] == "pending confirmation"
    kept = [m for m in json.loads(nubo.http("GET", "/_nubo/sns/outbox")[2])["messages"] if m["endpoint"] == endpoint]
    assert kept and "loopback" in kept[0]["subject"]


def test_fifo_topic_to_fifo_queue_keeps_groups_in_order(sns, sqs):
    arn = sns.create_topic(Name=f"ff-{uuid.uuid4().hex[:8]}.fifo", Attributes={"FifoTopic": "true", "ContentBasedDeduplication": "true"})["TopicArn"]
    url = sqs.create_queue(QueueName=f"ff-{uuid.uuid4().hex[:8]}.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    qarn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=qarn, Attributes={"RawMessageDelivery": "true"})
    for i in range(5):
        sns.publish(TopicArn=arn, Message=f"step {i}", MessageGroupId="job-1")
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["MessageGroupId"])["Messages"]
    assert [m["Body"] for m in got] == [f"step {i}" for i in range(5)]
    assert {m["Attributes"]["MessageGroupId"] for m in got} == {"job-1"}


def _verify_sns_signature(message):
    """What a subscriber does: fetch SigningCertURL, check the RSA signature of AWS's
    canonical string of the message (SignatureVersion 1: SHA1, 2: SHA256)."""
    import base64
    import urllib.request

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    if message["Type"] == "Notification":
        keys = ["Message", "MessageId"] + (["Subject"] if "Subject" in message else []) + ["Timestamp", "TopicArn", "Type"]
    else:
        keys = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
    text = "".join(f"{k}\n{message[k]}\n" for k in keys).encode()
    with urllib.request.urlopen(message["SigningCertURL"]) as r:
        cert = x509.load_pem_x509_certificate(r.read())
    digest = hashes.SHA256() if message["SignatureVersion"] == "2" else hashes.SHA1()
    cert.public_key().verify(base64.b64decode(message["Signature"]), text, padding.PKCS1v15(), digest)


def test_messages_are_signed_and_verifiable(sns, sqs, nubo):
    import http.server
    import threading
    import urllib.request

    got, confirmed, done = [], threading.Event(), threading.Event()

    class Endpoint(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            got.append(body)
            self.send_response(200)
            self.end_headers()
            if body["Type"] == "SubscriptionConfirmation":
                urllib.request.urlopen(body["SubscribeURL"]).read()
                confirmed.set()
            else:
                done.set()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Endpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        arn = sns.create_topic(Name=f"signed-{uuid.uuid4().hex[:8]}")["TopicArn"]
        url, qarn = queue(sqs)
        sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=qarn)
        sns.subscribe(TopicArn=arn, Protocol="http", Endpoint=f"http://127.0.0.1:{server.server_port}/")
        assert confirmed.wait(30), "the http subscription was never confirmed"
        sns.publish(TopicArn=arn, Message="signed", Subject="with subject")
        assert done.wait(30)
        for message in got:  # the confirmation request and the notification
            _verify_sns_signature(message)
        _verify_sns_signature(json.loads(drain(sqs, url)[0]))
        sns.set_topic_attributes(TopicArn=arn, AttributeName="SignatureVersion", AttributeValue="2")
        sns.publish(TopicArn=arn, Message="sha256 now")
        envelope = json.loads(drain(sqs, url)[0])
        assert envelope["SignatureVersion"] == "2"
        _verify_sns_signature(envelope)
    finally:
        server.shutdown()


def test_failed_http_delivery_is_retried_on_the_clock(client_config):
    import http.server
    import threading
    import urllib.request

    import boto3

    from conftest import Nubo

    attempts, confirmed, failed_once, delivered = [], threading.Event(), threading.Event(), threading.Event()

    class Flaky(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if body["Type"] == "SubscriptionConfirmation":
                self.send_response(200)
                self.end_headers()
                urllib.request.urlopen(body["SubscribeURL"]).read()
                confirmed.set()
                return
            attempts.append(body["Message"])
            self.send_response(500 if len(attempts) == 1 else 200)
            self.end_headers()
            (failed_once if len(attempts) == 1 else delivered).set()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Flaky)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    n = Nubo()
    try:
        sns = boto3.client("sns", endpoint_url=n.endpoint, region_name="us-east-1", aws_access_key_id="test",
                           aws_secret_access_key="test", config=client_config)
        arn = sns.create_topic(Name="flaky")["TopicArn"]
        sns.subscribe(TopicArn=arn, Protocol="http", Endpoint=f"http://127.0.0.1:{server.server_port}/", Attributes={
            "DeliveryPolicy": json.dumps({"healthyRetryPolicy": {"numRetries": 2, "minDelayTarget": 60}})})
        assert confirmed.wait(30)
        sns.publish(TopicArn=arn, Message="eventually")
        assert failed_once.wait(30)
        assert not delivered.is_set()  # the retry waits for the clock, 60 s away
        # nubo may start its retry sleep just after a jump: jump until the retry comes
        # (each jump wakes the sleeper; the retry cannot come without one).
        for _ in range(100):
            n.http("POST", "/_nubo/clock", b'{"advance": "61s"}')
            if delivered.wait(0.3):
                break
        assert delivered.is_set()
        assert attempts == ["eventually", "eventually"]
    finally:
        n.stop()
        server.shutdown()
