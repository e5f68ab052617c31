"""CloudWatch metrics through boto3 and the AWS CLI: PutMetricData (values, value/count
arrays, statistic sets, units, dimensions, resolutions), ListMetrics, GetMetricStatistics
and GetMetricData with percentiles, across the protocols CloudWatch's clients speak."""

import datetime
import json
import uuid

import pytest
from botocore.exceptions import ClientError

UTC = datetime.timezone.utc


def minute(offset=0):
    now = datetime.datetime.now(UTC).replace(second=0, microsecond=0)
    return now + datetime.timedelta(minutes=offset)


def ns():
    return f"App/{uuid.uuid4().hex[:8]}"


def test_put_and_read_statistics(boto):
    cw = boto("cloudwatch")
    namespace = ns()
    dims = [{"Name": "Service", "Value": "web"}, {"Name": "Env", "Value": "dev"}]
    t = minute(-5)
    cw.put_metric_data(Namespace=namespace, MetricData=[
        {"MetricName": "Latency", "Dimensions": dims, "Timestamp": t, "Value": 10.0, "Unit": "Milliseconds"},
        {"MetricName": "Latency", "Dimensions": list(reversed(dims)), "Timestamp": t, "Values": [20.0, 30.0], "Counts": [1, 2], "Unit": "Milliseconds"},
        {"MetricName": "Latency", "Dimensions": dims, "Timestamp": t + datetime.timedelta(minutes=1),
         "StatisticValues": {"SampleCount": 2, "Sum": 8, "Minimum": 3, "Maximum": 5}, "Unit": "Milliseconds"},
    ])
    metrics = cw.list_metrics(Namespace=namespace)["Metrics"]
    assert len(metrics) == 1 and sorted(d["Name"] for d in metrics[0]["Dimensions"]) == ["Env", "Service"]
    out = cw.get_metric_statistics(Namespace=namespace, MetricName="Latency", Dimensions=dims, StartTime=minute(-10), EndTime=minute(1),
                                   Period=60, Statistics=["SampleCount", "Sum", "Average", "Minimum", "Maximum"])
    points = sorted(out["Datapoints"], key=lambda d: d["Timestamp"])
    assert [(p["SampleCount"], p["Sum"], p["Minimum"], p["Maximum"]) for p in points] == [(4.0, 90.0, 10.0, 30.0), (2.0, 8.0, 3.0, 5.0)]
    assert points[0]["Average"] == 22.5 and points[0]["Unit"] == "Milliseconds"
    assert points[0]["Timestamp"] == t
    five = cw.get_metric_statistics(Namespace=namespace, MetricName="Latency", Dimensions=dims, StartTime=minute(-10), EndTime=minute(1),
                                    Period=300, Statistics=["SampleCount"])["Datapoints"]
    assert sum(p["SampleCount"] for p in five) == 6.0


def test_percentiles_and_get_metric_data(boto):
    cw = boto("cloudwatch")
    namespace = ns()
    t = minute(-3)
    cw.put_metric_data(Namespace=namespace, MetricData=[{"MetricName": "Rt", "Timestamp": t, "Values": [float(i) for i in range(1, 101)]}])
    ext = cw.get_metric_statistics(Namespace=namespace, MetricName="Rt", StartTime=minute(-5), EndTime=minute(1), Period=60,
                                   ExtendedStatistics=["p50", "p90", "p99"])["Datapoints"][0]["ExtendedStatistics"]
    assert ext == {"p50": 50.0, "p90": 90.0, "p99": 99.0}
    res = cw.get_metric_data(StartTime=minute(-5), EndTime=minute(1), MetricDataQueries=[
        {"Id": "avg", "MetricStat": {"Metric": {"Namespace": namespace, "MetricName": "Rt"}, "Period": 60, "Stat": "Average"}},
        {"Id": "p90", "MetricStat": {"Metric": {"Namespace": namespace, "MetricName": "Rt"}, "Period": 60, "Stat": "p90"}, "Label": "ninety"},
    ])["MetricDataResults"]
    by_id = {r["Id"]: r for r in res}
    assert by_id["avg"]["Values"] == [50.5] and by_id["avg"]["StatusCode"] == "Complete"
    assert by_id["p90"]["Label"] == "ninety" and by_id["p90"]["Values"] == [90.0]
    assert by_id["avg"]["Timestamps"][0] == t


def test_bad_input_gets_cloudwatchs_errors(boto):
    cw = boto("cloudwatch")
    with pytest.raises(ClientError) as e:
        cw.put_metric_data(Namespace="AWS/EC2", MetricData=[{"MetricName": "m", "Value": 1.0}])
    assert e.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(ClientError) as e:
        cw.put_metric_data(Namespace=ns(), MetricData=[{"MetricName": "m", "Value": 1.0, "Values": [2.0]}])
    assert e.value.response["Error"]["Code"] == "InvalidParameterCombination"
    with pytest.raises(ClientError) as e:
        cw.put_metric_data(Namespace=ns(), MetricData=[{"MetricName": "m", "Value": 1.0, "Timestamp": minute(-60 * 24 * 15)}])
    assert e.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(ClientError) as e:
        cw.get_metric_statistics(Namespace="x", MetricName="m", StartTime=minute(-5), EndTime=minute(0), Period=61, Statistics=["Sum"])
    assert e.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(ClientError) as e:
        cw.get_metric_statistics(Namespace="x", MetricName="m", StartTime=minute(-60 * 48), EndTime=minute(0), Period=60, Statistics=["Sum"])
    assert e.value.response["Error"]["Code"] == "InvalidParameterCombination"


@pytest.mark.parametrize("protocol", ["query", "json", "smithy-rpc-v2-cbor"])
def test_every_protocol_puts_and_reads(boto_protocol, protocol):
    cw = boto_protocol("cloudwatch", protocol)
    namespace = ns()
    cw.put_metric_data(Namespace=namespace, MetricData=[{"MetricName": "Hits", "Value": 3.0, "Unit": "Count", "Timestamp": minute(-1)}])
    points = cw.get_metric_statistics(Namespace=namespace, MetricName="Hits", StartTime=minute(-5), EndTime=minute(1), Period=60, Statistics=["Sum"])["Datapoints"]
    assert [(p["Sum"], p["Unit"]) for p in points] == [(3.0, "Count")]


def test_cli_puts_and_lists(aws):
    namespace = ns()
    aws("cloudwatch", "put-metric-data", "--namespace", namespace, "--metric-name", "Jobs", "--value", "7", "--dimensions", "Queue=q1")
    listed = aws("cloudwatch", "list-metrics", "--namespace", namespace)["Metrics"]
    assert listed == [{"Namespace": namespace, "MetricName": "Jobs", "Dimensions": [{"Name": "Queue", "Value": "q1"}]}]


def test_alarm_fires_and_recovers_through_sns_to_sqs():
    import json
    import boto3
    from botocore.config import Config
    from conftest import Nubo

    n = Nubo()
    try:
        kw = dict(endpoint_url=n.endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test",
                  config=Config(retries={"max_attempts": 1}))
        cw, sns, sqs = boto3.client("cloudwatch", **kw), boto3.client("sns", **kw), boto3.client("sqs", **kw)
        topic = sns.create_topic(Name="alarms")["TopicArn"]
        queue = sqs.create_queue(QueueName="alarm-inbox")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
        dims = [{"Name": "InstanceId", "Value": "i-0123456789abcdef0"}]
        cw.put_metric_alarm(AlarmName="cpu-high", Namespace="Seed/EC2", MetricName="CPUUtilization", Dimensions=dims,
                            Statistic="Average", Period=60, EvaluationPeriods=1, Threshold=60.0,
                            ComparisonOperator="GreaterThanThreshold", AlarmActions=[topic], OKActions=[topic])
        alarm = cw.describe_alarms(AlarmNames=["cpu-high"])["MetricAlarms"][0]
        assert alarm["StateValue"] == "INSUFFICIENT_DATA"

        def advance(seconds):
            assert n.http("POST", "/_nubo/clock", json.dumps({"advance": f"{seconds}s"}).encode())[0] == 200

        def clock_now():
            return datetime.datetime.fromisoformat(json.loads(n.http("GET", "/_nubo/clock")[2])["now"].replace("Z", "+00:00"))

        def notification():
            got = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=20).get("Messages", [])
            assert got, "no alarm notification arrived"
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=got[0]["ReceiptHandle"])
            envelope = json.loads(got[0]["Body"])
            return envelope["Subject"], json.loads(envelope["Message"])

        cw.put_metric_data(Namespace="Seed/EC2", MetricData=[{"MetricName": "CPUUtilization", "Dimensions": dims, "Value": 85.0, "Timestamp": clock_now()}])
        advance(60)
        subject, message = notification()
        assert subject == 'ALARM: "cpu-high" in US East (N. Virginia)'
        assert (message["OldStateValue"], message["NewStateValue"]) == ("INSUFFICIENT_DATA", "ALARM")
        assert message["NewStateReason"].startswith("Threshold Crossed: 1 out of the last 1 datapoints [85.0 (")
        assert message["Trigger"]["MetricName"] == "CPUUtilization" and message["Trigger"]["Threshold"] == 60.0
        alarm = cw.describe_alarms(StateValue="ALARM")["MetricAlarms"][0]
        assert json.loads(alarm["StateReasonData"])["recentDatapoints"] == [85.0]

        cw.put_metric_data(Namespace="Seed/EC2", MetricData=[{"MetricName": "CPUUtilization", "Dimensions": dims, "Value": 20.0, "Timestamp": clock_now()}])
        advance(60)
        subject, message = notification()
        assert (message["OldStateValue"], message["NewStateValue"]) == ("ALARM", "OK")
        history = cw.describe_alarm_history(AlarmName="cpu-high", HistoryItemType="StateUpdate")["AlarmHistoryItems"]
        assert [h["HistorySummary"] for h in history] == ["Alarm updated from ALARM to OK", "Alarm updated from INSUFFICIENT_DATA to ALARM"]

        cw.set_alarm_state(AlarmName="cpu-high", StateValue="ALARM", StateReason="testing the action")
        subject, message = notification()
        assert message["NewStateReason"] == "testing the action"
        cw.delete_alarms(AlarmNames=["cpu-high"])
        assert cw.describe_alarms()["MetricAlarms"] == []
    finally:
        n.stop()


def test_missing_data_treated_as_breaching_alarms_without_data():
    import json
    import boto3
    from conftest import Nubo

    n = Nubo()
    try:
        kw = dict(endpoint_url=n.endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
        cw, sns, sqs = boto3.client("cloudwatch", **kw), boto3.client("sns", **kw), boto3.client("sqs", **kw)
        topic = sns.create_topic(Name="heartbeats")["TopicArn"]
        queue = sqs.create_queue(QueueName="heartbeat-inbox")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
        cw.put_metric_alarm(AlarmName="heartbeat", Namespace="Seed/App", MetricName="Beats", Statistic="Sum", Period=60,
                            EvaluationPeriods=2, Threshold=1.0, ComparisonOperator="LessThanThreshold", TreatMissingData="breaching",
                            AlarmActions=[topic])
        assert n.http("POST", "/_nubo/clock", b'{"advance": "60s"}')[0] == 200
        got = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=20).get("Messages", [])
        assert got and json.loads(got[0]["Body"])["NewStateValue"] == "ALARM"
        alarm = cw.describe_alarms(AlarmNames=["heartbeat"])["MetricAlarms"][0]
        assert alarm["StateValue"] == "ALARM" and alarm["StateReason"].startswith("Threshold Crossed")
    finally:
        n.stop()


def test_alarm_tags(boto):
    cw = boto("cloudwatch")
    name = f"tagged-{uuid.uuid4().hex[:6]}"
    cw.put_metric_alarm(AlarmName=name, Namespace="App/X", MetricName="m", Statistic="Sum", Period=60, EvaluationPeriods=1,
                        Threshold=1.0, ComparisonOperator="GreaterThanThreshold", Tags=[{"Key": "team", "Value": "a"}])
    arn = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["AlarmArn"]
    assert "DatapointsToAlarm" not in cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
    cw.tag_resource(ResourceARN=arn, Tags=[{"Key": "env", "Value": "dev"}])
    cw.untag_resource(ResourceARN=arn, TagKeys=["team"])
    assert cw.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "env", "Value": "dev"}]
    cw.delete_alarms(AlarmNames=[name])
    with pytest.raises(ClientError) as e:
        cw.list_tags_for_resource(ResourceARN=arn)
    assert e.value.response["Error"]["Code"] == "ResourceNotFound"


def test_an_alarm_watches_the_queue_depth_nubo_publishes():
    import json
    import boto3
    from conftest import Nubo

    n = Nubo()
    try:
        kw = dict(endpoint_url=n.endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
        cw, sns, sqs = boto3.client("cloudwatch", **kw), boto3.client("sns", **kw), boto3.client("sqs", **kw)
        work = sqs.create_queue(QueueName="work")["QueueUrl"]
        topic = sns.create_topic(Name="backlog")["TopicArn"]
        inbox = sqs.create_queue(QueueName="ops-inbox")["QueueUrl"]
        inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn, Attributes={"RawMessageDelivery": "true"})
        cw.put_metric_alarm(AlarmName="backlog", Namespace="AWS/SQS", MetricName="ApproximateNumberOfMessagesVisible",
                            Dimensions=[{"Name": "QueueName", "Value": "work"}], Statistic="Maximum", Period=60,
                            EvaluationPeriods=1, Threshold=2.0, ComparisonOperator="GreaterThanThreshold", AlarmActions=[topic])
        for i in range(3):
            sqs.send_message(QueueUrl=work, MessageBody=f"job {i}")
        # One minute for SQS to publish the depth, one for the alarm to evaluate that minute
        # (and one more, should the evaluation of the second have run before the publish).
        for _ in range(3):
            assert n.http("POST", "/_nubo/clock", b'{"advance": "60s"}')[0] == 200
        got = sqs.receive_message(QueueUrl=inbox, WaitTimeSeconds=20).get("Messages", [])
        assert got, "no backlog alarm arrived"
        message = json.loads(got[0]["Body"])
        assert message["NewStateValue"] == "ALARM" and message["Trigger"]["Namespace"] == "AWS/SQS"
        assert "[3.0 (" in message["NewStateReason"]
        names = {m["MetricName"] for m in cw.list_metrics(Namespace="AWS/SQS")["Metrics"]}
        assert {"ApproximateNumberOfMessagesVisible", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"} <= names
    finally:
        n.stop()


def test_dashboards(boto, aws):
    cw = boto("cloudwatch")
    name = f"ops-{uuid.uuid4().hex[:6]}"
    body = json.dumps({"widgets": [
        {"type": "metric", "x": 0, "y": 0, "width": 12, "height": 6,
         "properties": {"metrics": [["AWS/EC2", "CPUUtilization", "InstanceId", "i-1"]], "period": 300, "stat": "Average", "region": "us-east-1"}},
        {"type": "text", "x": 12, "y": 0, "width": 6, "height": 3, "properties": {"markdown": "# Ops"}},
    ]})
    assert cw.put_dashboard(DashboardName=name, DashboardBody=body)["DashboardValidationMessages"] == []
    got = cw.get_dashboard(DashboardName=name)
    assert json.loads(got["DashboardBody"]) == json.loads(body) and got["DashboardArn"].endswith(f":dashboard/{name}")
    assert [d["DashboardName"] for d in cw.list_dashboards(DashboardNamePrefix=name)["DashboardEntries"]] == [name]
    with pytest.raises(ClientError) as e:
        cw.put_dashboard(DashboardName=name, DashboardBody=json.dumps({"widgets": [{"type": "metric", "properties": {}}]}))
    err = e.value.response
    assert err["Error"]["Code"] == "InvalidParameterInput"
    assert err["dashboardValidationMessages"] == [{"DataPath": "/widgets/0/properties", "Message": "Should have required property 'metrics'"}]
    with pytest.raises(ClientError) as e:
        cw.put_dashboard(DashboardName=name, DashboardBody="not json")
    assert "must be a valid JSON object" in e.value.response["Error"]["Message"]
    cli = aws("cloudwatch", "get-dashboard", "--dashboard-name", name)
    assert cli["DashboardName"] == name
    cw.delete_dashboards(DashboardNames=[name])
    with pytest.raises(ClientError) as e:
        cw.get_dashboard(DashboardName=name)
    assert e.value.response["Error"]["Code"] == "ResourceNotFound"
    with pytest.raises(ClientError) as e:
        cw.delete_dashboards(DashboardNames=[name])
    assert e.value.response["Error"]["Code"] == "ResourceNotFound"


def test_composite_alarms_follow_their_children():
    import boto3
    from conftest import Nubo

    n = Nubo()
    try:
        kw = dict(endpoint_url=n.endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
        cw, sns, sqs = boto3.client("cloudwatch", **kw), boto3.client("sns", **kw), boto3.client("sqs", **kw)
        topic = sns.create_topic(Name="composite")["TopicArn"]
        queue = sqs.create_queue(QueueName="composite-inbox")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
        common = dict(Namespace="Seed/App", Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="LessThanThreshold")
        cw.put_metric_alarm(AlarmName="beats-a", MetricName="A", TreatMissingData="breaching", **common)
        cw.put_metric_alarm(AlarmName="beats-b", MetricName="B", TreatMissingData="notBreaching", **common)
        with pytest.raises(ClientError) as e:
            cw.put_composite_alarm(AlarmName="bad", AlarmRule="ALARM(nope)")
        assert "do not exist" in e.value.response["Error"]["Message"]
        with pytest.raises(ClientError) as e:
            cw.put_composite_alarm(AlarmName="bad", AlarmRule="ALARM(beats-a) AND")
        assert e.value.response["Error"]["Code"] == "InvalidParameterValue"
        cw.put_composite_alarm(AlarmName="both-down", AlarmRule='ALARM("beats-a") AND ALARM(beats-b)', AlarmActions=[topic])
        cw.put_composite_alarm(AlarmName="any-down", AlarmRule="ALARM(beats-a) OR ALARM(beats-b)", AlarmActions=[topic])
        assert n.http("POST", "/_nubo/clock", b'{"advance": "60s"}')[0] == 200

        def notification():
            got = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=20).get("Messages", [])
            assert got, "no composite alarm notification arrived"
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=got[0]["ReceiptHandle"])
            return json.loads(got[0]["Body"])

        first = notification()
        assert (first["AlarmName"], first["NewStateValue"], first["AlarmRule"]) == ("any-down", "ALARM", "ALARM(beats-a) OR ALARM(beats-b)")
        composites = {a["AlarmName"]: a for a in cw.describe_alarms(AlarmTypes=["CompositeAlarm"])["CompositeAlarms"]}
        assert composites["any-down"]["StateValue"] == "ALARM" and composites["both-down"]["StateValue"] == "OK"
        assert "beats-a" in composites["any-down"]["StateReason"]
        assert [a["AlarmName"] for a in cw.describe_alarms()["MetricAlarms"]] == ["beats-a", "beats-b"]  # metric alarms only by default
        children = cw.describe_alarms(ChildrenOfAlarmName="both-down")["MetricAlarms"]
        assert sorted(a["AlarmName"] for a in children) == ["beats-a", "beats-b"]
        parents = cw.describe_alarms(ParentsOfAlarmName="beats-b")["CompositeAlarms"]
        assert sorted(a["AlarmName"] for a in parents) == ["any-down", "both-down"]
        cw.set_alarm_state(AlarmName="beats-b", StateValue="ALARM", StateReason="testing")
        second = notification()
        assert (second["AlarmName"], second["OldStateValue"], second["NewStateValue"]) == ("both-down", "OK", "ALARM")
    finally:
        n.stop()


def test_metric_math_in_get_metric_data(boto):
    cw = boto("cloudwatch")
    namespace = ns()
    t0 = minute(-6)
    data = []
    for i in range(5):
        at = t0 + datetime.timedelta(minutes=i)
        data.append({"MetricName": "Requests", "Timestamp": at, "Value": 100.0})
        if i != 2:  # a gap in the errors
            data.append({"MetricName": "Errors", "Timestamp": at, "Value": float(i * 5)})
    cw.put_metric_data(Namespace=namespace, MetricData=data)

    def stat(id_, name):
        return {"Id": id_, "ReturnData": False, "MetricStat": {"Metric": {"Namespace": namespace, "MetricName": name}, "Period": 60, "Stat": "Sum"}}

    out = cw.get_metric_data(StartTime=t0, EndTime=t0 + datetime.timedelta(minutes=5), ScanBy="TimestampAscending", MetricDataQueries=[
        stat("req", "Requests"), stat("err", "Errors"),
        {"Id": "rate", "Expression": "100 * FILL(err, 0) / req", "Label": "Error rate"},
        {"Id": "total", "Expression": "SUM(METRICS())"},
        {"Id": "high", "Expression": "IF(rate > 10, rate)"},
    ])["MetricDataResults"]
    by_id = {r["Id"]: r for r in out}
    assert by_id["rate"]["Label"] == "Error rate" and by_id["rate"]["Values"] == [0.0, 5.0, 0.0, 15.0, 20.0]
    assert by_id["total"]["Values"] == [100.0, 105.0, 100.0, 115.0, 120.0]
    assert by_id["high"]["Values"] == [15.0, 20.0]
    assert "req" not in by_id  # ReturnData false
    with pytest.raises(ClientError) as e:
        cw.get_metric_data(StartTime=t0, EndTime=t0 + datetime.timedelta(minutes=5), MetricDataQueries=[
            stat("a", "Requests"), {"Id": "b", "Expression": "a +"}])
    assert e.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(ClientError) as e:
        cw.get_metric_data(StartTime=t0, EndTime=t0 + datetime.timedelta(minutes=5), MetricDataQueries=[
            {"Id": "x", "Expression": "y * 2"}, {"Id": "y", "Expression": "x * 2"}])
    assert "Circular" in e.value.response["Error"]["Message"]


def test_metric_math_alarm():
    import boto3
    from conftest import Nubo

    n = Nubo()
    try:
        kw = dict(endpoint_url=n.endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
        cw, sns, sqs = boto3.client("cloudwatch", **kw), boto3.client("sns", **kw), boto3.client("sqs", **kw)
        topic = sns.create_topic(Name="errors")["TopicArn"]
        queue = sqs.create_queue(QueueName="errors-inbox")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
        stat = lambda i, name: {"Id": i, "ReturnData": False, "MetricStat": {"Metric": {"Namespace": "Seed/Web", "MetricName": name}, "Period": 60, "Stat": "Sum"}}  # noqa: E731
        metrics = [stat("err", "Errors"), stat("req", "Requests"), {"Id": "rate", "Expression": "100 * err / req", "Label": "Error %", "ReturnData": True}]
        with pytest.raises(ClientError) as e:
            cw.put_metric_alarm(AlarmName="x", EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanThreshold",
                                Metrics=[{**m, "ReturnData": True} for m in metrics])
        assert e.value.response["Error"]["Message"] == "Exactly one element of the metrics list should return data."
        cw.put_metric_alarm(AlarmName="error-rate", EvaluationPeriods=1, Threshold=10.0, ComparisonOperator="GreaterThanThreshold",
                            Metrics=metrics, AlarmActions=[topic])
        described = cw.describe_alarms(AlarmNames=["error-rate"])["MetricAlarms"][0]
        assert [m["Id"] for m in described["Metrics"]] == ["err", "req", "rate"] and "MetricName" not in described
        now = datetime.datetime.fromisoformat(json.loads(n.http("GET", "/_nubo/clock")[2])["now"].replace("Z", "+00:00"))
        cw.put_metric_data(Namespace="Seed/Web", MetricData=[{"MetricName": "Requests", "Value": 200.0, "Timestamp": now},
                                                              {"MetricName": "Errors", "Value": 50.0, "Timestamp": now}])
        assert n.http("POST", "/_nubo/clock", b'{"advance": "60s"}')[0] == 200
        got = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=20).get("Messages", [])
        assert got, "no alarm notification arrived"
        message = json.loads(got[0]["Body"])
        assert message["NewStateValue"] == "ALARM" and message["NewStateReason"].startswith("Threshold Crossed: 1 out of the last 1 datapoints [25.0")
        assert [m["Id"] for m in message["Trigger"]["Metrics"]] == ["err", "req", "rate"]
    finally:
        n.stop()


def test_alarm_actions_stop_an_instance_and_sqs_traffic_metrics():
    """EC2 actions act on the alarm's InstanceId; SQS traffic becomes AWS/SQS metrics an
    alarm can watch. Events arrive through an SNS topic subscribed by a queue."""
    import boto3
    from conftest import Nubo

    n = Nubo()
    try:
        kw = dict(endpoint_url=n.endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
        cw, sns, sqs, ec2 = (boto3.client(s, **kw) for s in ("cloudwatch", "sns", "sqs", "ec2"))
        topic = sns.create_topic(Name="ops")["TopicArn"]
        inbox = sqs.create_queue(QueueName="ops-inbox")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})

        def notification():
            got = sqs.receive_message(QueueUrl=inbox, WaitTimeSeconds=20).get("Messages", [])
            assert got, "no alarm notification arrived"
            sqs.delete_message(QueueUrl=inbox, ReceiptHandle=got[0]["ReceiptHandle"])
            return json.loads(got[0]["Body"])

        image = ec2.describe_images(Owners=["amazon"], Filters=[{"Name": "name", "Values": ["al2023-ami-*-x86_64"]}])["Images"][0]["ImageId"]
        iid = ec2.run_instances(ImageId=image, InstanceType="t3.micro", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
        # No heartbeat is breaching: the alarm stops the instance, then tells the topic.
        cw.put_metric_alarm(AlarmName="no-heartbeat", Namespace="Seed/App", MetricName="Heartbeat", Statistic="Sum", Period=60,
                            EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="LessThanThreshold", TreatMissingData="breaching",
                            Dimensions=[{"Name": "InstanceId", "Value": iid}],
                            AlarmActions=["arn:aws:automate:us-east-1:ec2:stop", topic])
        work = sqs.create_queue(QueueName="work")["QueueUrl"]
        for i in range(3):
            sqs.send_message(QueueUrl=work, MessageBody=f"job {i}")
        got = sqs.receive_message(QueueUrl=work, MaxNumberOfMessages=2)["Messages"]
        sqs.delete_message(QueueUrl=work, ReceiptHandle=got[0]["ReceiptHandle"])
        cw.put_metric_alarm(AlarmName="busy", Namespace="AWS/SQS", MetricName="NumberOfMessagesSent", Statistic="Sum", Period=60,
                            EvaluationPeriods=1, Threshold=3.0, ComparisonOperator="GreaterThanOrEqualToThreshold",
                            Dimensions=[{"Name": "QueueName", "Value": "work"}], AlarmActions=[topic])
        assert n.http("POST", "/_nubo/clock", b'{"advance": "60s"}')[0] == 200
        first = notification()
        assert first["AlarmName"] == "no-heartbeat" and first["NewStateValue"] == "ALARM"
        state = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["State"]["Name"]
        assert state in ("stopping", "stopped")
        history = cw.describe_alarm_history(AlarmName="no-heartbeat", HistoryItemType="Action")["AlarmHistoryItems"]
        assert any(h["HistorySummary"] == "Successfully executed action arn:aws:automate:us-east-1:ec2:stop" for h in history)
        # The traffic of the first minute was recorded at its end; the next evaluation sees it.
        assert n.http("POST", "/_nubo/clock", b'{"advance": "60s"}')[0] == 200
        second = notification()
        assert second["AlarmName"] == "busy" and second["NewStateValue"] == "ALARM"
        stats = {m: cw.get_metric_statistics(Namespace="AWS/SQS", MetricName=m, Dimensions=[{"Name": "QueueName", "Value": "work"}],
                                             StartTime=datetime.datetime(2000, 1, 1, tzinfo=UTC), EndTime=datetime.datetime(2100, 1, 1, tzinfo=UTC),
                                             Period=86400 * 365, Statistics=["Sum"])["Datapoints"]
                 for m in ("NumberOfMessagesSent", "NumberOfMessagesReceived", "NumberOfMessagesDeleted")}
        assert [sum(p["Sum"] for p in stats[m]) for m in ("NumberOfMessagesSent", "NumberOfMessagesReceived", "NumberOfMessagesDeleted")] == [3.0, 2.0, 1.0]
    finally:
        n.stop()
