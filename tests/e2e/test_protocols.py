"""Every wire protocol a supported client may send, driven by botocore's own serializers.

botocore picks one protocol per service; these tests load a copy of the model that
lists only the protocol under test, so botocore serialises and parses exactly that
protocol against nubo.
"""

import pytest


@pytest.mark.parametrize("protocol", ["json", "smithy-rpc-v2-cbor", "query"])
def test_cloudwatch_answers_each_protocol_its_clients_send(boto_protocol, protocol):
    out = boto_protocol("cloudwatch", protocol).list_metrics(Namespace="AWS/EC2")
    assert out["Metrics"] == []
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_cbor_responses_carry_the_smithy_protocol_header(boto_protocol):
    out = boto_protocol("cloudwatch", "smithy-rpc-v2-cbor").list_metrics()
    headers = out["ResponseMetadata"]["HTTPHeaders"]
    assert headers["smithy-protocol"] == "rpc-v2-cbor"
    assert headers["content-type"] == "application/cbor"


@pytest.mark.parametrize("protocol", ["json", "query"])
def test_sqs_answers_json_and_legacy_query_clients(boto_protocol, protocol):
    out = boto_protocol("sqs", protocol).list_queues(QueueNamePrefix="x")
    assert out.get("QueueUrls", []) == []
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_query_response_carries_request_id_in_body_and_header(nubo):
    status, headers, body = nubo.http(
        "POST", "/", b"Action=GetCallerIdentity&Version=2011-06-15",
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 200
    rid = headers["x-amzn-requestid"]
    assert f"<RequestId>{rid}</RequestId>".encode() in body
    assert body.startswith(b"<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">")


def test_query_get_request_is_accepted(nubo):
    status, _, body = nubo.http("GET", "/?Action=GetCallerIdentity&Version=2011-06-15")
    assert status == 200
    assert b"<Account>000000000000</Account>" in body


def test_gzipped_query_body_is_unpacked_before_routing(nubo):
    import gzip

    status, _, body = nubo.http(
        "POST", "/", gzip.compress(b"Action=ListMetrics&Version=2010-08-01"),
        {"Content-Type": "application/x-www-form-urlencoded", "Content-Encoding": "gzip"},
    )
    assert status == 200, body
    assert b"<ListMetricsResponse" in body


def test_botocore_request_compression_reaches_the_service(boto):
    from botocore.config import Config
    from botocore.exceptions import ClientError

    # botocore gzips PutMetricData bodies above the threshold; 1 byte forces it: the
    # compressed body must decode and the datum arrive.
    import uuid
    namespace = f"Compressed/{uuid.uuid4().hex[:8]}"
    cw = boto("cloudwatch", config=Config(request_min_compression_size_bytes=1, retries={"max_attempts": 1}))
    cw.put_metric_data(Namespace=namespace, MetricData=[{"MetricName": "m", "Value": 1.0}])
    assert [m["MetricName"] for m in cw.list_metrics(Namespace=namespace)["Metrics"]] == ["m"]


def test_truncated_gzip_body_is_a_client_error(nubo):
    import gzip

    status, _, body = nubo.http(
        "POST", "/", gzip.compress(b"Action=ListMetrics&Version=2010-08-01")[:-8],
        {"Content-Type": "application/x-www-form-urlencoded", "Content-Encoding": "gzip"},
    )
    assert status == 400
    assert b"<Code>SerializationException</Code>" in body
