"""The foundation's proof: one operation per protocol family answers real clients."""

import os
import subprocess
import sys

import pytest


def test_sts_get_caller_identity_boto3(boto):
    ident = boto("sts").get_caller_identity()
    assert ident["Account"] == "000000000000"
    assert ident["Arn"] == "arn:aws:iam::000000000000:root"
    assert ident["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert len(ident["ResponseMetadata"]["RequestId"]) == 36


def test_sts_get_caller_identity_cli(aws):
    assert aws("sts", "get-caller-identity")["Account"] == "000000000000"


def test_twelve_digit_access_key_selects_its_account(boto):
    assert boto("sts", access_key="123456789012").get_caller_identity()["Account"] == "123456789012"


def test_sqs_list_queues_json_protocol(boto):
    # A region no other test makes queues in: the worker's nubo is shared.
    out = boto("sqs", region="eu-north-1").list_queues()
    assert out.get("QueueUrls", []) == []
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_sqs_list_queues_cli(aws):
    assert (aws("--region", "eu-north-1", "sqs", "list-queues") or {}).get("QueueUrls", []) == []


def test_s3_list_buckets_boto3(boto):
    out = boto("s3", access_key="999988887777").list_buckets()
    assert out["Buckets"] == []
    assert len(out["Owner"]["ID"]) == 64
    assert "x-amz-request-id" in out["ResponseMetadata"]["HTTPHeaders"]


def test_s3_list_buckets_cli(aws):
    assert isinstance(aws("s3api", "list-buckets")["Buckets"], list)
    p = aws("s3", "ls", check=False)
    assert p.returncode == 0, p.stderr


@pytest.mark.parametrize("host, path", [
    ("localhost", "/some-bucket"),
    ("some-bucket.localhost", "/"),
    ("some-bucket.s3.localhost.localstack.cloud", "/"),
])
def test_s3_bucket_addressing_styles_reach_the_bucket(nubo, host, path):
    port = nubo.endpoint.rsplit(":", 1)[1]
    status, headers, body = nubo.http("GET", path, headers={"Host": f"{host}:{port}"})
    # The request must reach S3's ListObjects for that bucket (not ListBuckets), answered
    # in S3's XML error format.
    assert status == 404
    assert b"<Code>NoSuchBucket</Code>" in body and b"<BucketName>some-bucket</BucketName>" in body
    assert "x-amz-request-id" in headers


def test_lambda_list_functions_boto3(boto):
    # A region no other test creates functions in.
    assert boto("lambda", region="eu-north-1").list_functions()["Functions"] == []


def test_lambda_list_functions_cli(aws):
    assert aws("--region", "eu-north-1", "lambda", "list-functions")["Functions"] == []


def test_cloudwatch_list_metrics_boto3(boto):
    assert boto("cloudwatch").list_metrics(Namespace="Nobody/Uses")["Metrics"] == []


def test_cloudwatch_list_metrics_cli(aws):
    assert aws("cloudwatch", "list-metrics", "--namespace", "Nobody/Uses")["Metrics"] == []


def test_aws_endpoint_url_environment_variable_is_enough(nubo):
    env = dict(os.environ, AWS_ENDPOINT_URL=nubo.endpoint, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
               AWS_DEFAULT_REGION="us-east-1")
    out = subprocess.run(
        [sys.executable, "-c", "import boto3; print(boto3.client('sts').get_caller_identity()['Account'])"],
        capture_output=True, text=True, env=env, timeout=60,
    )
    assert out.stdout.strip() == "000000000000", out.stderr


def test_region_comes_from_the_credential_scope(boto):
    # The answer is region-independent today; the request must still be accepted in any region.
    assert boto("sqs", region="eu-west-1").list_queues()["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_unimplemented_operation_of_a_known_service_says_so(boto):
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as e:
        boto("dynamodb").list_global_tables()
    assert e.value.response["Error"]["Code"] == "NotImplemented"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
