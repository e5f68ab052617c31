"""CloudWatch metrics through boto3 and the AWS CLI: PutMetricData (values, value/count
arrays, statistic sets, units, dimensions, resolutions), ListMetrics, GetMetricStatistics
and GetMetricData with percentiles, across the protocols CloudWatch's clients speak."""

import datetime
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
