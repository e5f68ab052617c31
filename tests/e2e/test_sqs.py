"""SQS through boto3 and the AWS CLI: queues, messages, visibility, FIFO, dead letters."""

import hashlib
import json
import struct
import threading
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import Nubo


def code(e):
    return e.value.response["Error"]["Code"], e.value.response["ResponseMetadata"]["HTTPStatusCode"]


def md5_of_attributes(attrs):
    """AWS's documented digest of message attributes (what SDKs other than boto3 check)."""
    b = b""
    for name in sorted(attrs):
        a = attrs[name]
        for s in (name, a["DataType"]):
            b += struct.pack("!I", len(s.encode())) + s.encode()
        if "StringValue" in a:
            v = a["StringValue"].encode()
            b += b"\x01" + struct.pack("!I", len(v)) + v
        else:
            v = a["BinaryValue"]
            b += b"\x02" + struct.pack("!I", len(v)) + v
    return hashlib.md5(b).hexdigest()


@pytest.fixture
def sqs(boto):
    return boto("sqs")


@pytest.fixture
def queue(sqs):
    return sqs.create_queue(QueueName=f"q-{uuid.uuid4().hex[:10]}")["QueueUrl"]


def own_nubo(client_config, *args, data_dir=None):
    import boto3

    n = Nubo(*args, data_dir=data_dir)
    c = boto3.client("sqs", endpoint_url=n.endpoint, region_name="us-east-1", aws_access_key_id="test",
                     aws_secret_access_key="test", config=client_config)
    return n, c


def advance(n, duration):
    assert n.http("POST", "/_nubo/clock", json.dumps({"advance": duration}).encode())[0] == 200


# -- queues ------------------------------------------------------------------------------

def test_create_is_idempotent_and_conflicts_on_other_attributes(sqs):
    name = f"idem-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
    assert url.endswith(f"/000000000000/{name}")
    assert sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "60"})["QueueUrl"] == url
    with pytest.raises(ClientError) as e:
        sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "61"})
    assert code(e)[1] == 400 and code(e)[0] in ("QueueNameExists", "QueueAlreadyExists")
    assert sqs.get_queue_url(QueueName=name)["QueueUrl"] == url
    for bad in ["has space", "x" * 81]:
        with pytest.raises(ClientError) as e:
            sqs.create_queue(QueueName=bad)
        assert code(e) == ("InvalidParameterValue", 400)


def test_missing_queue(sqs):
    with pytest.raises(ClientError) as e:
        sqs.get_queue_url(QueueName="never-created")
    assert code(e)[1] == 400
    assert code(e)[0] in ("QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue")
    assert e.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-query-error"] == "AWS.SimpleQueueService.NonExistentQueue;Sender"


def test_list_queues_prefix_and_pages(boto):
    sqs = boto("sqs", access_key="222233334444")
    for i in range(5):
        sqs.create_queue(QueueName=f"page-{i}")
    sqs.create_queue(QueueName="other")
    assert len(sqs.list_queues(QueueNamePrefix="page-")["QueueUrls"]) == 5
    first = sqs.list_queues(QueueNamePrefix="page-", MaxResults=2)
    assert len(first["QueueUrls"]) == 2 and "NextToken" in first
    urls = [u for p in sqs.get_paginator("list_queues").paginate(QueueNamePrefix="page-", PaginationConfig={"PageSize": 2}) for u in p["QueueUrls"]]
    assert [u.rsplit("/", 1)[1] for u in urls] == [f"page-{i}" for i in range(5)]


def test_attributes_tags_and_delete(sqs, queue):
    attrs = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
    assert attrs["VisibilityTimeout"] == "30" and attrs["MaximumMessageSize"] == "1048576"
    assert attrs["QueueArn"].startswith("arn:aws:sqs:us-east-1:000000000000:q-")
    sqs.set_queue_attributes(QueueUrl=queue, Attributes={"DelaySeconds": "5"})
    assert sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["DelaySeconds"])["Attributes"] == {"DelaySeconds": "5"}
    with pytest.raises(ClientError) as e:
        sqs.set_queue_attributes(QueueUrl=queue, Attributes={"VisibilityTimeout": "99999"})
    assert code(e) == ("InvalidAttributeValue", 400)
    with pytest.raises(ClientError) as e:
        sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["Bogus"])
    assert code(e) == ("InvalidAttributeName", 400)
    sqs.tag_queue(QueueUrl=queue, Tags={"team": "core", "env": "dev"})
    sqs.untag_queue(QueueUrl=queue, TagKeys=["env"])
    assert sqs.list_queue_tags(QueueUrl=queue)["Tags"] == {"team": "core"}
    sqs.delete_queue(QueueUrl=queue)
    with pytest.raises(ClientError):
        sqs.get_queue_attributes(QueueUrl=queue)


# -- messages ----------------------------------------------------------------------------

def test_send_receive_delete_with_attributes_and_digests(sqs, queue):
    attrs = {"city": {"DataType": "String", "StringValue": "Any City"}, "n": {"DataType": "Number", "StringValue": "42"},
             "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"}}
    sent = sqs.send_message(QueueUrl=queue, MessageBody="hello", MessageAttributes=attrs)
    assert sent["MD5OfMessageBody"] == hashlib.md5(b"hello").hexdigest()
    assert sent["MD5OfMessageAttributes"] == md5_of_attributes(attrs)
    got = sqs.receive_message(QueueUrl=queue, MessageAttributeNames=["All"], AttributeNames=["All"])["Messages"][0]
    assert got["Body"] == "hello" and got["MessageId"] == sent["MessageId"]
    assert got["MessageAttributes"]["blob"]["BinaryValue"] == b"\x00\x01"
    assert got["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert got["Attributes"]["ApproximateReceiveCount"] == "1"
    assert sqs.receive_message(QueueUrl=queue).get("Messages", []) == []  # in flight
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=got["ReceiptHandle"])
    counts = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])
    assert counts["Attributes"] == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}


def test_message_validation(sqs, queue):
    with pytest.raises(ClientError) as e:
        sqs.send_message(QueueUrl=queue, MessageBody="bad \x00 char")
    assert code(e) == ("InvalidMessageContents", 400)
    with pytest.raises(ClientError) as e:
        sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=11)
    assert code(e) == ("InvalidParameterValue", 400)
    with pytest.raises(ClientError) as e:
        sqs.delete_message(QueueUrl=queue, ReceiptHandle="not-a-handle")
    assert code(e) == ("ReceiptHandleIsInvalid", 400)


def test_batches(sqs, queue):
    out = sqs.send_message_batch(QueueUrl=queue, Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(10)])
    assert len(out["Successful"]) == 10
    with pytest.raises(ClientError) as e:
        sqs.send_message_batch(QueueUrl=queue, Entries=[{"Id": "a", "MessageBody": "x"}, {"Id": "a", "MessageBody": "y"}])
    assert code(e)[0] in ("BatchEntryIdsNotDistinct", "AWS.SimpleQueueService.BatchEntryIdsNotDistinct")
    with pytest.raises(ClientError) as e:
        sqs.send_message_batch(QueueUrl=queue, Entries=[{"Id": str(i), "MessageBody": "x"} for i in range(11)])
    assert code(e)[0] in ("TooManyEntriesInBatchRequest", "AWS.SimpleQueueService.TooManyEntriesInBatchRequest")
    got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    assert len(got) == 10
    vis = sqs.change_message_visibility_batch(QueueUrl=queue, Entries=[{"Id": "v", "ReceiptHandle": got[0]["ReceiptHandle"], "VisibilityTimeout": 0}])
    assert [s["Id"] for s in vis["Successful"]] == ["v"]
    deleted = sqs.delete_message_batch(QueueUrl=queue, Entries=[{"Id": m["MessageId"][:8], "ReceiptHandle": m["ReceiptHandle"]} for m in got[1:]])
    assert len(deleted["Successful"]) == 9
    assert sqs.receive_message(QueueUrl=queue)["Messages"][0]["Body"] == got[0]["Body"]


def test_visibility_timeout_and_delay_run_on_the_clock(client_config):
    n, sqs = own_nubo(client_config)
    try:
        q = sqs.create_queue(QueueName="clocked")["QueueUrl"]
        sqs.send_message(QueueUrl=q, MessageBody="later", DelaySeconds=60)
        assert sqs.receive_message(QueueUrl=q).get("Messages", []) == []
        assert sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["ApproximateNumberOfMessagesDelayed"])["Attributes"]["ApproximateNumberOfMessagesDelayed"] == "1"
        advance(n, "61s")
        m = sqs.receive_message(QueueUrl=q, VisibilityTimeout=120)["Messages"][0]
        assert sqs.receive_message(QueueUrl=q).get("Messages", []) == []
        advance(n, "121s")
        again = sqs.receive_message(QueueUrl=q, AttributeNames=["ApproximateReceiveCount"])["Messages"][0]
        assert again["MessageId"] == m["MessageId"] and again["Attributes"]["ApproximateReceiveCount"] == "2"
        # The old receipt handle no longer deletes (the message was received since).
        sqs.delete_message(QueueUrl=q, ReceiptHandle=m["ReceiptHandle"])
        sqs.change_message_visibility(QueueUrl=q, ReceiptHandle=again["ReceiptHandle"], VisibilityTimeout=0)
        assert sqs.receive_message(QueueUrl=q)["Messages"][0]["MessageId"] == m["MessageId"]
    finally:
        n.stop()


def test_long_poll_answers_when_the_message_becomes_available(client_config):
    n, sqs = own_nubo(client_config)
    try:
        q = sqs.create_queue(QueueName="poll")["QueueUrl"]
        sqs.send_message(QueueUrl=q, MessageBody="delayed", DelaySeconds=600)
        result = {}

        def poll():
            started = time.monotonic()
            result["messages"] = sqs.receive_message(QueueUrl=q, WaitTimeSeconds=20).get("Messages", [])
            result["seconds"] = time.monotonic() - started

        t = threading.Thread(target=poll)
        t.start()
        advance(n, "601s")  # the message can only be received after this jump
        t.join(30)
        assert [m["Body"] for m in result["messages"]] == ["delayed"]
        assert result["seconds"] < 15, "the long poll waited for its full time"
        # A send wakes a waiting poll too.
        t = threading.Thread(target=poll)
        t.start()
        sqs.send_message(QueueUrl=q, MessageBody="now")
        t.join(30)
        assert [m["Body"] for m in result["messages"]] == ["now"] and result["seconds"] < 15
    finally:
        n.stop()


def test_purge(sqs, queue):
    sqs.send_message(QueueUrl=queue, MessageBody="x")
    sqs.purge_queue(QueueUrl=queue)
    assert sqs.receive_message(QueueUrl=queue).get("Messages", []) == []
    with pytest.raises(ClientError) as e:
        sqs.purge_queue(QueueUrl=queue)
    assert code(e)[1] == 403


def test_dead_letter_queue_after_max_receives(sqs):
    dlq = sqs.create_queue(QueueName=f"dlq-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    src = sqs.create_queue(QueueName=f"src-{uuid.uuid4().hex[:8]}",
                           Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})})["QueueUrl"]
    sqs.send_message(QueueUrl=src, MessageBody="poison")
    for _ in range(2):
        assert sqs.receive_message(QueueUrl=src, VisibilityTimeout=0)["Messages"][0]["Body"] == "poison"
    assert sqs.receive_message(QueueUrl=src).get("Messages", []) == []
    moved = sqs.receive_message(QueueUrl=dlq, AttributeNames=["All"])["Messages"][0]
    assert moved["Body"] == "poison"
    assert moved["Attributes"]["DeadLetterQueueSourceArn"].endswith(src.rsplit("/", 1)[1])
    assert sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"] == [src]


# -- FIFO ----------------------------------------------------------------------------------

def test_fifo_order_groups_and_deduplication(sqs):
    q = sqs.create_queue(QueueName=f"f-{uuid.uuid4().hex[:8]}.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
    seqs = [sqs.send_message(QueueUrl=q, MessageBody=f"a{i}", MessageGroupId="A")["SequenceNumber"] for i in range(3)]
    assert seqs == sorted(seqs)
    sqs.send_message(QueueUrl=q, MessageBody="b0", MessageGroupId="B")
    dup = sqs.send_message(QueueUrl=q, MessageBody="a0", MessageGroupId="A")  # same content: deduplicated
    first = sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=1)["Messages"]
    assert [m["Body"] for m in first] == ["a0"] and dup["MessageId"] == first[0]["MessageId"]
    # Group A is blocked while a0 is in flight: the next receive gets group B.
    nxt = sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in nxt] == ["b0"]
    sqs.delete_message(QueueUrl=q, ReceiptHandle=first[0]["ReceiptHandle"])
    rest = sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in rest] == ["a1", "a2"]
    with pytest.raises(ClientError) as e:
        sqs.send_message(QueueUrl=q, MessageBody="no group")
    assert code(e) == ("MissingParameter", 400)
    with pytest.raises(ClientError) as e:
        sqs.send_message(QueueUrl=q, MessageBody="x", MessageGroupId="A", DelaySeconds=5)
    assert code(e) == ("InvalidParameterValue", 400)


def test_fifo_order_holds_under_concurrent_consumers(sqs):
    q = sqs.create_queue(QueueName=f"c-{uuid.uuid4().hex[:8]}.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    for i in range(30):
        sqs.send_message(QueueUrl=q, MessageBody=str(i), MessageGroupId="G", MessageDeduplicationId=str(i))
    seen, lock = [], threading.Lock()

    def consume():
        while True:
            msgs = sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=3).get("Messages", [])
            if not msgs:
                return
            with lock:
                seen.extend(int(m["Body"]) for m in msgs)
            for m in msgs:
                sqs.delete_message(QueueUrl=q, ReceiptHandle=m["ReceiptHandle"])

    threads = [threading.Thread(target=consume) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert seen == list(range(30))


# -- protocols, clients, durability --------------------------------------------------------------

def test_legacy_query_protocol_clients(boto_protocol):
    sqs = boto_protocol("sqs", "query")
    url = sqs.create_queue(QueueName=f"legacy-{uuid.uuid4().hex[:8]}", Attributes={"VisibilityTimeout": "45"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="via query", MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}})
    m = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"][0]
    assert m["Body"] == "via query" and m["MessageAttributes"]["k"]["StringValue"] == "v"
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"]["VisibilityTimeout"] == "45"
    with pytest.raises(ClientError) as e:
        sqs.get_queue_url(QueueName="never-there")
    assert code(e) == ("AWS.SimpleQueueService.NonExistentQueue", 400)


def test_cli(aws):
    name = f"cli-{uuid.uuid4().hex[:8]}"
    url = aws("sqs", "create-queue", "--queue-name", name)["QueueUrl"]
    aws("sqs", "send-message", "--queue-url", url, "--message-body", "from the cli")
    m = aws("sqs", "receive-message", "--queue-url", url)["Messages"][0]
    assert m["Body"] == "from the cli"
    aws("sqs", "delete-message", "--queue-url", url, "--receipt-handle", m["ReceiptHandle"])
    assert url in aws("sqs", "list-queues", "--queue-name-prefix", name)["QueueUrls"]
    aws("sqs", "delete-queue", "--queue-url", url)


def test_messages_survive_kill_9_and_in_flight_ones_come_back(tmp_path, client_config):
    import signal

    n, sqs = own_nubo(client_config, data_dir=str(tmp_path))
    q = sqs.create_queue(QueueName="durable")["QueueUrl"]
    sqs.send_message(QueueUrl=q, MessageBody="acknowledged")
    sqs.send_message(QueueUrl=q, MessageBody="in flight")
    taken = sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=1, VisibilityTimeout=300)["Messages"][0]
    n.proc.send_signal(signal.SIGKILL)
    n.proc.wait()
    n, sqs = own_nubo(client_config, data_dir=str(tmp_path))
    try:
        q = sqs.get_queue_url(QueueName="durable")["QueueUrl"]
        first = sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=10)["Messages"]
        assert [m["Body"] for m in first] == [b for b in ["acknowledged", "in flight"] if b != taken["Body"]]
        advance(n, "301s")
        back = sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=10)["Messages"]
        assert taken["Body"] in [m["Body"] for m in back]
    finally:
        n.stop()


def test_redrive_allow_policy_and_moving_dead_letters_back(sqs):
    dlq = sqs.create_queue(QueueName=f"dlq-{uuid.uuid4().hex[:8]}", Attributes={"RedriveAllowPolicy": json.dumps({"redrivePermission": "denyAll"})})["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = {"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})}
    with pytest.raises(ClientError) as e:
        sqs.create_queue(QueueName=f"src-{uuid.uuid4().hex[:8]}", Attributes=policy)
    assert code(e) == ("InvalidParameterValue", 400)
    sqs.set_queue_attributes(QueueUrl=dlq, Attributes={"RedriveAllowPolicy": json.dumps({"redrivePermission": "allowAll"})})
    src = sqs.create_queue(QueueName=f"src-{uuid.uuid4().hex[:8]}", Attributes=policy)["QueueUrl"]
    with pytest.raises(ClientError) as e:
        sqs.set_queue_attributes(QueueUrl=src, Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn + "-missing", "maxReceiveCount": 1})})
    assert code(e) == ("InvalidParameterValue", 400)
    sqs.send_message(QueueUrl=src, MessageBody="retry me")
    sqs.receive_message(QueueUrl=src, VisibilityTimeout=0)
    assert sqs.receive_message(QueueUrl=src).get("Messages", []) == []  # now a dead letter
    task = sqs.start_message_move_task(SourceArn=dlq_arn)["TaskHandle"]
    assert task
    listed = sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"][0]
    assert listed["Status"] == "COMPLETED" and listed["ApproximateNumberOfMessagesMoved"] == 1
    assert sqs.receive_message(QueueUrl=src)["Messages"][0]["Body"] == "retry me"
    with pytest.raises(ClientError) as e:
        sqs.start_message_move_task(SourceArn=sqs.get_queue_attributes(QueueUrl=src, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])
    assert code(e) == ("InvalidParameterValue", 400)


def test_messages_expire_after_the_retention_period(client_config):
    n, sqs = own_nubo(client_config)
    try:
        q = sqs.create_queue(QueueName="short-lived", Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
        sqs.send_message(QueueUrl=q, MessageBody="soon gone")
        count = lambda: sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"]
        assert count() == "1"
        advance(n, "61s")
        assert count() == "0"
        assert sqs.receive_message(QueueUrl=q).get("Messages", []) == []
    finally:
        n.stop()


def test_add_and_remove_permission_edit_the_queue_policy(boto):
    import json
    import uuid
    from botocore.exceptions import ClientError
    sqs = boto("sqs")
    url = sqs.create_queue(QueueName=f"shared-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    sqs.add_permission(QueueUrl=url, Label="partner", AWSAccountIds=["111122223333"], Actions=["SendMessage", "GetQueueUrl"])
    policy = json.loads(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"])
    statement = policy["Statement"][0]
    assert statement["Sid"] == "partner" and statement["Principal"] == {"AWS": ["arn:aws:iam::111122223333:root"]}
    assert statement["Action"] == ["SQS:SendMessage", "SQS:GetQueueUrl"]
    with pytest.raises(ClientError) as e:
        sqs.add_permission(QueueUrl=url, Label="partner", AWSAccountIds=["111122223333"], Actions=["SendMessage"])
    assert e.value.response["Error"]["Code"] in ("InvalidParameterValue", "AWS.SimpleQueueService.InvalidParameterValue")
    sqs.remove_permission(QueueUrl=url, Label="partner")
    assert "Policy" not in sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"]).get("Attributes", {})
    with pytest.raises(ClientError) as e:
        sqs.remove_permission(QueueUrl=url, Label="partner")
    assert "InvalidParameterValue" in e.value.response["Error"]["Code"]


def test_a_long_poll_of_the_dead_letter_queue_wakes_when_a_message_moves_there(boto):
    import threading
    import time
    sqs = boto("sqs")
    dlq = sqs.create_queue(QueueName=f"dlq-wake-{uuid.uuid4().hex[:6]}")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    src = sqs.create_queue(QueueName=f"src-wake-{uuid.uuid4().hex[:6]}",
                           Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "1"})})["QueueUrl"]
    sqs.send_message(QueueUrl=src, MessageBody="poison")
    handle = sqs.receive_message(QueueUrl=src)["Messages"][0]["ReceiptHandle"]
    sqs.change_message_visibility(QueueUrl=src, ReceiptHandle=handle, VisibilityTimeout=0)
    got = {}

    def wait_on_dlq():
        started = time.monotonic()
        got["messages"] = sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=15).get("Messages", [])
        got["seconds"] = time.monotonic() - started

    waiter = threading.Thread(target=wait_on_dlq)
    waiter.start()
    assert sqs.receive_message(QueueUrl=src).get("Messages", []) == []  # this receive moves it
    waiter.join()
    assert [m["Body"] for m in got["messages"]] == ["poison"] and got["seconds"] < 10
