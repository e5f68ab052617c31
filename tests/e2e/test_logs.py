"""CloudWatch Logs through boto3 and the AWS CLI: groups, streams, PutLogEvents rules,
GetLogEvents paging in both directions, FilterLogEvents with filter patterns, retention,
tags, metric filters that publish to CloudWatch, and `aws logs tail --follow` (CLI v2)."""

import datetime
import json
import os
import shutil
import subprocess
import time
import uuid

import pytest
from botocore.exceptions import ClientError


def name(prefix="/nubo/test"):
    return f"{prefix}/{uuid.uuid4().hex[:8]}"


@pytest.fixture
def now_ms(nubo):
    """nubo's clock in milliseconds: other tests of the worker may have moved it ahead."""
    def read():
        at = json.loads(nubo.http("GET", "/_nubo/clock")[2])["now"]
        return int(datetime.datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp() * 1000)
    return read


def error(excinfo):
    e = excinfo.value.response["Error"]
    return e["Code"], e["Message"]


@pytest.fixture
def logs(boto):
    return boto("logs")


def group_with_stream(logs, stream="web-1"):
    group = name()
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    return group


def test_groups_and_streams(logs, aws, now_ms):
    group = name()
    logs.create_log_group(logGroupName=group, tags={"team": "web"})
    with pytest.raises(ClientError) as e:
        logs.create_log_group(logGroupName=group)
    assert error(e) == ("ResourceAlreadyExistsException", "The specified log group already exists")
    with pytest.raises(ClientError) as e:
        logs.create_log_group(logGroupName="bad name!")
    assert error(e)[0] == "InvalidParameterException"
    logs.put_retention_policy(logGroupName=group, retentionInDays=7)
    with pytest.raises(ClientError) as e:
        logs.put_retention_policy(logGroupName=group, retentionInDays=2)
    assert error(e)[0] == "InvalidParameterException"
    described = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert len(described) == 1 and described[0]["retentionInDays"] == 7
    assert described[0]["arn"].endswith(f":log-group:{group}:*") and described[0]["logGroupArn"].endswith(f":log-group:{group}")
    for s in ("b-stream", "a-stream"):
        logs.create_log_stream(logGroupName=group, logStreamName=s)
    with pytest.raises(ClientError) as e:
        logs.create_log_stream(logGroupName=group, logStreamName="a-stream")
    assert error(e) == ("ResourceAlreadyExistsException", "The specified log stream already exists")
    streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
    assert [s["logStreamName"] for s in streams] == ["a-stream", "b-stream"]
    logs.put_log_events(logGroupName=group, logStreamName="a-stream", logEvents=[{"timestamp": now_ms(), "message": "x"}])
    latest = logs.describe_log_streams(logGroupName=group, orderBy="LastEventTime", descending=True)["logStreams"]
    assert latest[0]["logStreamName"] == "a-stream" and latest[0]["storedBytes"] == 1
    arn = described[0]["logGroupArn"]
    logs.tag_resource(resourceArn=arn, tags={"env": "dev"})
    assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == {"team": "web", "env": "dev"}
    logs.untag_log_group(logGroupName=group, tags=["team"])
    assert logs.list_tags_log_group(logGroupName=group)["tags"] == {"env": "dev"}
    assert group in [g["logGroupName"] for g in aws("logs", "describe-log-groups", "--log-group-name-pattern", group.split("/")[-1])["logGroups"]]
    logs.delete_log_stream(logGroupName=group, logStreamName="b-stream")
    logs.delete_log_group(logGroupName=group)
    with pytest.raises(ClientError) as e:
        logs.describe_log_streams(logGroupName=group)
    assert error(e) == ("ResourceNotFoundException", "The specified log group does not exist.")


def test_put_log_events_rules(logs, now_ms):
    group = group_with_stream(logs)
    t = now_ms()
    with pytest.raises(ClientError) as e:
        logs.put_log_events(logGroupName=group, logStreamName="web-1", logEvents=[{"timestamp": t, "message": "b"}, {"timestamp": t - 1, "message": "a"}])
    assert error(e) == ("InvalidParameterException", "Log events in a single PutLogEvents request must be in chronological order.")
    with pytest.raises(ClientError) as e:
        logs.put_log_events(logGroupName=group, logStreamName="nope", logEvents=[{"timestamp": t, "message": "a"}])
    assert error(e) == ("ResourceNotFoundException", "The specified log stream does not exist.")
    with pytest.raises(ClientError) as e:
        logs.put_log_events(logGroupName=group, logStreamName="web-1", logEvents=[{"timestamp": t - 86_400_001, "message": "a"}, {"timestamp": t, "message": "b"}])
    assert error(e) == ("InvalidParameterException", "The batch of log events in a single PutLogEvents request cannot span more than 24 hours.")
    old = logs.put_log_events(logGroupName=group, logStreamName="web-1", logEvents=[
        {"timestamp": t - 15 * 86_400_000, "message": "too old"}, {"timestamp": t - 15 * 86_400_000 + 1, "message": "too old too"}])
    assert old["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 1}
    out = logs.put_log_events(logGroupName=group, logStreamName="web-1", sequenceToken="ignored", logEvents=[
        {"timestamp": t, "message": "fine"},
        {"timestamp": t + 3 * 3_600_000, "message": "too new"},
    ])
    assert out["rejectedLogEventsInfo"] == {"tooNewLogEventStartIndex": 1}
    assert [e["message"] for e in logs.get_log_events(logGroupName=group, logStreamName="web-1")["events"]] == ["fine"]


def test_get_log_events_pages_both_ways(logs, now_ms):
    group = group_with_stream(logs)
    t = now_ms() - 10_000
    logs.put_log_events(logGroupName=group, logStreamName="web-1", logEvents=[{"timestamp": t + i, "message": f"m{i}"} for i in range(10)])
    latest = logs.get_log_events(logGroupName=group, logStreamName="web-1", limit=3)
    assert [e["message"] for e in latest["events"]] == ["m7", "m8", "m9"]
    earlier = logs.get_log_events(logGroupName=group, logStreamName="web-1", limit=3, nextToken=latest["nextBackwardToken"])
    assert [e["message"] for e in earlier["events"]] == ["m4", "m5", "m6"]
    head = logs.get_log_events(logGroupName=group, logStreamName="web-1", limit=4, startFromHead=True)
    assert [e["message"] for e in head["events"]] == ["m0", "m1", "m2", "m3"]
    following = logs.get_log_events(logGroupName=group, logStreamName="web-1", limit=4, nextToken=head["nextForwardToken"])
    assert [e["message"] for e in following["events"]] == ["m4", "m5", "m6", "m7"]
    # At the end of the stream the forward token comes back unchanged.
    end = logs.get_log_events(logGroupName=group, logStreamName="web-1", nextToken=latest["nextForwardToken"])
    assert end["events"] == [] and end["nextForwardToken"] == latest["nextForwardToken"]
    ranged = logs.get_log_events(logGroupName=group, logStreamName="web-1", startTime=t + 2, endTime=t + 5, startFromHead=True)
    assert [e["message"] for e in ranged["events"]] == ["m2", "m3", "m4"]
    everything = [e["message"] for p in logs.get_paginator("filter_log_events").paginate(logGroupName=group, PaginationConfig={"PageSize": 4}) for e in p["events"]]
    assert everything == [f"m{i}" for i in range(10)]


def test_filter_log_events_with_patterns(logs, now_ms):
    group = name()
    logs.create_log_group(logGroupName=group)
    t = now_ms() - 60_000
    lines = {
        "api-1": ['{"level": "error", "latency": 250, "path": "/users"}', '{"level": "info", "latency": 12, "path": "/health"}'],
        "api-2": ["ERROR connection refused", "WARN disk at 91%", '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 404 2326'],
    }
    for i, (stream, messages) in enumerate(lines.items()):
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        logs.put_log_events(logGroupName=group, logStreamName=stream,
                            logEvents=[{"timestamp": t + 10 * j + i, "message": m} for j, m in enumerate(messages)])

    def matching(pattern, **kw):
        events = logs.filter_log_events(logGroupName=group, filterPattern=pattern, **kw)["events"]
        return [e["message"] for e in events]

    assert len(matching("")) == 5
    assert matching("ERROR") == ["ERROR connection refused"]
    assert matching("?ERROR ?WARN") == ["ERROR connection refused", "WARN disk at 91%"]
    assert matching('{ $.level = "error" }') == [lines["api-1"][0]]
    assert matching("{ $.latency > 100 }") == [lines["api-1"][0]]
    assert matching("[ip, identity, user, timestamp, request, status_code = 404, bytes]") == [lines["api-2"][2]]
    assert matching("ERROR", logStreamNames=["api-1"]) == []
    first = logs.filter_log_events(logGroupName=group, limit=2)
    assert len(first["events"]) == 2 and "nextToken" in first
    assert all(len(e["eventId"]) == 56 for e in first["events"])


def test_metric_filters_publish_to_cloudwatch(logs, boto, now_ms):
    cw = boto("cloudwatch")
    group = group_with_stream(logs)
    namespace = f"LogMetrics/{uuid.uuid4().hex[:6]}"
    logs.put_metric_filter(logGroupName=group, filterName="errors", filterPattern="ERROR",
                           metricTransformations=[{"metricName": "ErrorCount", "metricNamespace": namespace, "metricValue": "1", "defaultValue": 0}])
    assert [f["filterName"] for f in logs.describe_metric_filters(logGroupName=group)["metricFilters"]] == ["errors"]
    minute = (now_ms() // 60_000) * 60_000 - 120_000
    logs.put_log_events(logGroupName=group, logStreamName="web-1", logEvents=[
        {"timestamp": minute + 1, "message": "ERROR a"}, {"timestamp": minute + 2, "message": "ok"}, {"timestamp": minute + 3, "message": "ERROR b"},
    ])
    start = datetime.datetime.fromtimestamp(minute / 1000, datetime.timezone.utc)
    stats = cw.get_metric_statistics(Namespace=namespace, MetricName="ErrorCount", StartTime=start, EndTime=start + datetime.timedelta(minutes=1),
                                     Period=60, Statistics=["Sum", "SampleCount"])["Datapoints"]
    assert [(p["Sum"], p["SampleCount"]) for p in stats] == [(2.0, 3.0)]
    tested = logs.test_metric_filter(filterPattern="ERROR", logEventMessages=["ERROR x", "fine", "ERROR y"])["matches"]
    assert [m["eventNumber"] for m in tested] == [1, 3]
    logs.delete_metric_filter(logGroupName=group, filterName="errors")
    assert logs.describe_metric_filters(logGroupName=group)["metricFilters"] == []


def test_retention_expires_old_events():
    """A private nubo: its clock jumps a day past the retention."""
    import boto3
    from conftest import Nubo
    n = Nubo()
    try:
        logs = boto3.client("logs", endpoint_url=n.endpoint, region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")
        clock = lambda: datetime.datetime.fromisoformat(json.loads(n.http("GET", "/_nubo/clock")[2])["now"].replace("Z", "+00:00"))  # noqa: E731
        logs.create_log_group(logGroupName="short")
        logs.create_log_stream(logGroupName="short", logStreamName="s")
        t = int(clock().timestamp() * 1000)
        logs.put_log_events(logGroupName="short", logStreamName="s", logEvents=[{"timestamp": t, "message": "old news"}])
        assert n.http("POST", "/_nubo/clock", b'{"advance": "2d"}')[0] == 200
        logs.put_log_events(logGroupName="short", logStreamName="s", logEvents=[{"timestamp": t + 2 * 86_400_000, "message": "fresh"}])
        logs.put_retention_policy(logGroupName="short", retentionInDays=1)
        deadline = time.monotonic() + 10
        while len(logs.get_log_events(logGroupName="short", logStreamName="s")["events"]) > 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [e["message"] for e in logs.get_log_events(logGroupName="short", logStreamName="s")["events"]] == ["fresh"]
    finally:
        n.stop()


def aws_cli_v2():
    """The AWS CLI v2 (`aws logs tail` exists only there): scripts/test installs Debian's."""
    for candidate in ("/usr/bin/aws", "/usr/local/bin/aws", shutil.which("aws")):
        if candidate and os.path.exists(candidate):
            out = subprocess.run([candidate, "--version"], capture_output=True, text=True)
            if out.stdout.startswith("aws-cli/2."):
                return candidate
    return None


def test_aws_logs_tail_follow(nubo, logs, now_ms):
    cli = aws_cli_v2()
    if cli is None:
        pytest.skip("AWS CLI v2 not installed (scripts/test installs Debian's awscli when it can): `aws logs tail` is a v2 command")
    group = group_with_stream(logs)
    logs.put_log_events(logGroupName=group, logStreamName="web-1", logEvents=[{"timestamp": now_ms(), "message": "before tail"}])
    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1", AWS_PAGER="")
    tail = subprocess.Popen([cli, "--endpoint-url", nubo.endpoint, "logs", "tail", group, "--follow", "--format", "short", "--since", "1h"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert tail.stdout.readline().rstrip().endswith("before tail")
        logs.put_log_events(logGroupName=group, logStreamName="web-1", logEvents=[{"timestamp": now_ms(), "message": "while tailing"}])
        # The CLI polls every 5 s; the line arrives with its next poll.
        assert tail.stdout.readline().rstrip().endswith("while tailing")
    finally:
        tail.kill()
        tail.wait()
