"""DynamoDB through boto3 and the AWS CLI: tables and indexes, items with every data type,
condition and update expressions, queries and scans with pagination (Limit and the 1 MB
page), batches, transactions, and DynamoDB's error messages word for word."""

import decimal
import json
import uuid

import pytest
from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError


def name(prefix="t"):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def error(excinfo):
    e = excinfo.value.response["Error"]
    return e["Code"], e["Message"]


@pytest.fixture
def ddb(boto):
    return boto("dynamodb")


@pytest.fixture
def resource(nubo):
    import boto3
    return boto3.resource("dynamodb", endpoint_url=nubo.endpoint, region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test")


def employees(ddb):
    """The seeds' employee directory: employees by id, a GSI by department."""
    table = name("employees")
    out = ddb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}, {"AttributeName": "department", "AttributeType": "S"},
                              {"AttributeName": "salary", "AttributeType": "N"}],
        GlobalSecondaryIndexes=[{"IndexName": "by-department", "Projection": {"ProjectionType": "ALL"},
                                 "KeySchema": [{"AttributeName": "department", "KeyType": "HASH"}, {"AttributeName": "salary", "KeyType": "RANGE"}]}],
        BillingMode="PAY_PER_REQUEST",
    )
    assert out["TableDescription"]["TableStatus"] == "CREATING"
    ddb.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 1})
    return table


def test_employee_directory(ddb, resource):
    table = resource.Table(employees(ddb))
    people = [("e1", "Ana", "eng", 120), ("e2", "Bo", "eng", 95), ("e3", "Cy", "ops", 80), ("e4", "Di", "eng", 150)]
    with table.batch_writer() as batch:
        for id_, who, dept, salary in people:
            batch.put_item(Item={"id": id_, "name": who, "department": dept, "salary": salary, "photo": f"s3://photos/{id_}.jpg"})
    assert table.get_item(Key={"id": "e2"})["Item"] == {"id": "e2", "name": "Bo", "department": "eng", "salary": 95, "photo": "s3://photos/e2.jpg"}
    assert sorted(i["id"] for i in table.scan()["Items"]) == ["e1", "e2", "e3", "e4"]
    eng = table.query(IndexName="by-department", KeyConditionExpression=Key("department").eq("eng"))["Items"]
    assert [i["id"] for i in eng] == ["e2", "e1", "e4"]  # by salary
    rich = table.query(IndexName="by-department", KeyConditionExpression=Key("department").eq("eng") & Key("salary").gt(100),
                       ScanIndexForward=False)["Items"]
    assert [i["id"] for i in rich] == ["e4", "e1"]
    table.update_item(Key={"id": "e2"}, UpdateExpression="SET department = :d, salary = salary + :raise",
                      ExpressionAttributeValues={":d": "ops", ":raise": 10})
    ops = table.query(IndexName="by-department", KeyConditionExpression=Key("department").eq("ops"))["Items"]
    assert [(i["id"], i["salary"]) for i in ops] == [("e3", 80), ("e2", 105)]
    table.delete_item(Key={"id": "e3"})
    ops = table.query(IndexName="by-department", KeyConditionExpression=Key("department").eq("ops"))["Items"]
    assert [i["id"] for i in ops] == ["e2"]
    described = ddb.describe_table(TableName=table.name)["Table"]
    assert described["ItemCount"] == 3 and described["GlobalSecondaryIndexes"][0]["ItemCount"] == 3
    assert described["GlobalSecondaryIndexes"][0]["IndexStatus"] == "ACTIVE"
    assert described["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"


def test_every_data_type_round_trips(ddb):
    table = employees(ddb)
    item = {
        "id": {"S": "all"}, "n": {"N": "-12.50"}, "big": {"N": "1E+125"}, "b": {"B": b"\x00\xff"},
        "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2.5"]}, "bs": {"BS": [b"x", b"y"]},
        "m": {"M": {"nested": {"L": [{"NULL": True}, {"BOOL": False}, {"S": ""}]}}}, "t": {"BOOL": True},
    }
    ddb.put_item(TableName=table, Item=item)
    got = ddb.get_item(TableName=table, Key={"id": {"S": "all"}}, ConsistentRead=True)["Item"]
    assert got["n"] == {"N": "-12.5"}  # numbers come back normalised
    assert got["big"] == {"N": "1" + "0" * 125}
    assert got["b"] == {"B": b"\x00\xff"} and sorted(got["bs"]["BS"]) == [b"x", b"y"]
    assert sorted(got["ns"]["NS"]) == ["1", "2.5"] and got["m"] == item["m"] and got["t"] == {"BOOL": True}


@pytest.mark.parametrize("value, message", [
    ({}, "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"),
    ({"S": "a", "N": "1"}, "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes"),
    ({"SS": []}, "One or more parameter values were invalid: An string set  may not be empty"),
    ({"SS": ["a", "a"]}, "One or more parameter values were invalid: Input collection [a, a] contains duplicates."),
    ({"N": "1e126"}, "Number overflow. Attempting to store a number with magnitude larger than supported range"),
    ({"N": "1" * 39}, "Attempting to store more than 38 significant digits in a Number"),
    ({"NULL": False}, "One or more parameter values were invalid: Null attribute value types must have the value of true"),
])
def test_invalid_values(ddb, value, message):
    table = employees(ddb)
    with pytest.raises(ClientError) as e:
        ddb.put_item(TableName=table, Item={"id": {"S": "x"}, "v": value})
    assert error(e) == ("ValidationException", message)


def test_key_and_item_checks(ddb):
    table = employees(ddb)
    cases = [
        (lambda: ddb.put_item(TableName=table, Item={"x": {"S": "1"}}), "One or more parameter values were invalid: Missing the key id in the item"),
        (lambda: ddb.put_item(TableName=table, Item={"id": {"N": "1"}}), "One or more parameter values were invalid: Type mismatch for key id expected: S actual: N"),
        (lambda: ddb.put_item(TableName=table, Item={"id": {"S": ""}}),
         "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: id"),
        (lambda: ddb.get_item(TableName=table, Key={"id": {"S": "1"}, "x": {"S": "2"}}), "The provided key element does not match the schema"),
        (lambda: ddb.put_item(TableName=table, Item={"id": {"S": "1"}, "salary": {"S": "lots"}}),
         "One or more parameter values were invalid: Type mismatch for Index Key salary Expected: N Actual: S IndexName: by-department"),
        (lambda: ddb.put_item(TableName=table, Item={"id": {"S": "1"}, "blob": {"S": "x" * 400 * 1024}}), "Item size has exceeded the maximum allowed size"),
        (lambda: ddb.update_item(TableName=table, Key={"id": {"S": "1"}}, UpdateExpression="SET id = :v", ExpressionAttributeValues={":v": {"S": "2"}}),
         "One or more parameter values were invalid: Cannot update attribute id. This attribute is part of the key"),
    ]
    for call, message in cases:
        with pytest.raises(ClientError) as e:
            call()
        assert error(e) == ("ValidationException", message)
    with pytest.raises(ClientError) as e:
        ddb.get_item(TableName="missing-table", Key={"id": {"S": "1"}})
    assert error(e) == ("ResourceNotFoundException", "Requested resource not found")
    with pytest.raises(ClientError) as e:
        ddb.describe_table(TableName="missing-table")
    assert error(e) == ("ResourceNotFoundException", "Requested resource not found: Table: missing-table not found")


def test_conditions(ddb):
    table = employees(ddb)
    put = lambda item, **kw: ddb.put_item(TableName=table, Item=item, **kw)
    put({"id": {"S": "c"}, "n": {"N": "5"}, "s": {"S": "hello world"}, "tags": {"SS": ["x", "y"]}, "l": {"L": [{"S": "a"}, {"N": "1"}]}})
    ok = [
        ("attribute_exists(n)", {}, {}),
        ("attribute_not_exists(nope)", {}, {}),
        ("n = :five", {}, {":five": {"N": "5.0"}}),
        ("n <> :six AND n < :six AND n <= :five AND n > :four AND n >= :five", {}, {":six": {"N": "6"}, ":five": {"N": "5"}, ":four": {"N": "4"}}),
        ("n BETWEEN :four AND :six", {}, {":six": {"N": "6"}, ":four": {"N": "4"}}),
        ("n IN (:four, :five)", {}, {":five": {"N": "5"}, ":four": {"N": "4"}}),
        ("begins_with(s, :h)", {}, {":h": {"S": "hell"}}),
        ("contains(s, :w) AND contains(tags, :x) AND contains(l, :a)", {}, {":w": {"S": "wor"}, ":x": {"S": "x"}, ":a": {"S": "a"}}),
        ("size(s) = :eleven AND size(tags) = :two AND size(l) = :two", {}, {":eleven": {"N": "11"}, ":two": {"N": "2"}}),
        ("attribute_type(#s, :S)", {"#s": "s"}, {":S": {"S": "S"}}),
        ("NOT (n = :four) AND (n = :four OR s = :s)", {}, {":four": {"N": "4"}, ":s": {"S": "hello world"}}),
        ("l[1] = :one", {}, {":one": {"N": "1"}}),
        ("nope <> :one", {}, {":one": {"N": "1"}}),
    ]
    for expression, names, values in ok:
        kw = {"ConditionExpression": expression}
        if names:
            kw["ExpressionAttributeNames"] = names
        if values:
            kw["ExpressionAttributeValues"] = values
        ddb.update_item(TableName=table, Key={"id": {"S": "c"}}, UpdateExpression="SET touched = :t",
                        ExpressionAttributeValues={**values, ":t": {"BOOL": True}}, **{k: v for k, v in kw.items() if k != "ExpressionAttributeValues"})
    failing = [
        ("n > :v", {":v": {"N": "5"}}),
        ("n = :v", {":v": {"S": "5"}}),  # different types never compare equal
        ("attribute_exists(nope)", {}),
        ("size(s) > :v", {":v": {"N": "11"}}),
    ]
    for expression, values in failing:
        with pytest.raises(ClientError) as e:
            put({"id": {"S": "c"}}, ConditionExpression=expression, **({"ExpressionAttributeValues": values} if values else {}))
        assert error(e) == ("ConditionalCheckFailedException", "The conditional request failed")
    # The item the condition saw comes back when asked for.
    with pytest.raises(ClientError) as e:
        put({"id": {"S": "c"}}, ConditionExpression="attribute_not_exists(id)", ReturnValuesOnConditionCheckFailure="ALL_OLD")
    assert e.value.response["Item"]["n"] == {"N": "5"}
    # Conditional create: only if absent.
    put({"id": {"S": "new"}}, ConditionExpression="attribute_not_exists(id)")


def test_expression_errors(ddb):
    table = employees(ddb)
    cases = [
        (dict(ConditionExpression="a = :v", ExpressionAttributeValues={":v": {"S": "x"}, ":unused": {"S": "y"}}),
         "Value provided in ExpressionAttributeValues unused in expressions: keys: {:unused}"),
        (dict(ConditionExpression="a = :missing"),
         "Invalid ConditionExpression: An expression attribute value used in expression is not defined; attribute value: :missing"),
        (dict(ConditionExpression="#missing = a"),
         "Invalid ConditionExpression: An expression attribute name used in the document path is not defined; attribute name: #missing"),
        (dict(ConditionExpression="name = a"), "Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: name"),
        (dict(ConditionExpression="a = ", ), 'Invalid ConditionExpression: Syntax error; token: "<EOF>", near: "= "'),
        (dict(ConditionExpression="a = b", Expected={"a": {"Exists": False}}),
         "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {Expected} Expression parameters: {ConditionExpression}"),
        (dict(ExpressionAttributeNames={"#a": "a"}), "ExpressionAttributeNames can only be specified when using expressions"),
    ]
    for kw, message in cases:
        with pytest.raises(ClientError) as e:
            ddb.put_item(TableName=table, Item={"id": {"S": "x"}}, **kw)
        assert error(e) == ("ValidationException", message), kw


def test_update_expressions(ddb, resource):
    table = resource.Table(employees(ddb))
    table.put_item(Item={"id": "u", "count": 1, "list": ["a"], "tags": {"x", "y"}, "nums": {1, 2}, "m": {"sub": {"deep": 1}}, "gone": 1})
    out = table.update_item(
        Key={"id": "u"},
        UpdateExpression="SET #c = #c + :one, #l = list_append(#l, :more), fresh = if_not_exists(fresh, :zero), m.#sub.deep = :two "
                         "REMOVE gone ADD #counter :one, tags :z DELETE nums :two_set",
        ExpressionAttributeNames={"#c": "count", "#l": "list", "#counter": "counter", "#sub": "sub"},
        ExpressionAttributeValues={":one": 1, ":more": ["b", "c"], ":zero": 0, ":two": 2, ":z": {"z"}, ":two_set": {2}},
        ReturnValues="ALL_NEW",
    )["Attributes"]
    assert out == {"id": "u", "count": 2, "list": ["a", "b", "c"], "fresh": 0, "m": {"sub": {"deep": 2}}, "counter": 1,
                   "tags": {"x", "y", "z"}, "nums": {1}}
    table.update_item(Key={"id": "u"}, UpdateExpression="SET #l[0] = :first", ExpressionAttributeNames={"#l": "list"},
                      ExpressionAttributeValues={":first": "A"})
    old = table.update_item(Key={"id": "u"}, UpdateExpression="REMOVE #l[1] DELETE nums :one_set",
                            ExpressionAttributeNames={"#l": "list"}, ExpressionAttributeValues={":one_set": {1}}, ReturnValues="UPDATED_OLD")["Attributes"]
    assert old == {"list": ["b"], "nums": {1}}  # the paths updated, as they were
    nested = table.update_item(Key={"id": "u"}, UpdateExpression="SET m.#sub.deep = :three", ExpressionAttributeNames={"#sub": "sub"},
                               ExpressionAttributeValues={":three": 3}, ReturnValues="UPDATED_NEW")["Attributes"]
    assert nested == {"m": {"sub": {"deep": 3}}}
    after = table.get_item(Key={"id": "u"})["Item"]
    assert after["list"] == ["A", "c"] and "nums" not in after  # an emptied set disappears
    # UpdateItem creates the item when it does not exist.
    table.update_item(Key={"id": "created"}, UpdateExpression="ADD visits :one", ExpressionAttributeValues={":one": 1})
    assert table.get_item(Key={"id": "created"})["Item"] == {"id": "created", "visits": 1}
    with pytest.raises(ClientError) as e:
        table.update_item(Key={"id": "u"}, UpdateExpression="SET x = nothing + :one", ExpressionAttributeValues={":one": 1})
    assert error(e) == ("ValidationException", "The provided expression refers to an attribute that does not exist in the item")
    with pytest.raises(ClientError) as e:
        table.update_item(Key={"id": "u"}, UpdateExpression="ADD #c :s", ExpressionAttributeNames={"#c": "count"}, ExpressionAttributeValues={":s": "text"})
    assert error(e)[0] == "ValidationException"
    with pytest.raises(ClientError) as e:
        table.update_item(Key={"id": "u"}, UpdateExpression="SET a = :v, a = :v", ExpressionAttributeValues={":v": 1})
    assert error(e) == ("ValidationException", "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a]")


def test_query_and_scan_pagination(ddb):
    table = name("events")
    ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"}])
    for i in range(30):
        ddb.put_item(TableName=table, Item={"pk": {"S": "a" if i < 20 else "b"}, "sk": {"N": str(i - 10)}, "odd": {"BOOL": i % 2 == 1}})
    q = dict(TableName=table, KeyConditionExpression="pk = :a AND sk BETWEEN :lo AND :hi",
             ExpressionAttributeValues={":a": {"S": "a"}, ":lo": {"N": "-5"}, ":hi": {"N": "5"}, ":t": {"BOOL": True}},
             FilterExpression="odd = :t")
    first = ddb.query(Limit=4, **q)
    assert first["ScannedCount"] == 4 and first["Count"] == 2 and first["LastEvaluatedKey"] == {"pk": {"S": "a"}, "sk": {"N": "-2"}}
    pages = list(ddb.get_paginator("query").paginate(PaginationConfig={"PageSize": 3}, **q))
    got = [int(i["sk"]["N"]) for p in pages for i in p["Items"]]
    assert got == [-5, -3, -1, 1, 3, 5]
    down = ddb.query(TableName=table, KeyConditionExpression="pk = :a AND sk < :z", ScanIndexForward=False,
                     ExpressionAttributeValues={":a": {"S": "a"}, ":z": {"N": "0"}}, Limit=3)
    assert [int(i["sk"]["N"]) for i in down["Items"]] == [-1, -2, -3]
    count = ddb.query(TableName=table, KeyConditionExpression="pk = :b", ExpressionAttributeValues={":b": {"S": "b"}}, Select="COUNT")
    assert count["Count"] == 10 and "Items" not in count
    scanned = [i for p in ddb.get_paginator("scan").paginate(TableName=table, PaginationConfig={"PageSize": 7}) for i in p["Items"]]
    assert len(scanned) == 30 and len({(i["pk"]["S"], i["sk"]["N"]) for i in scanned}) == 30
    segments = [ddb.scan(TableName=table, Segment=s, TotalSegments=3)["Items"] for s in range(3)]
    assert sum(len(s) for s in segments) == 30
    projected = ddb.query(TableName=table, KeyConditionExpression="pk = :b",
                          ExpressionAttributeValues={":b": {"S": "b"}}, ProjectionExpression="sk", Limit=1)["Items"]
    assert projected == [{"sk": {"N": "10"}}]
    with pytest.raises(ClientError) as e:
        ddb.query(TableName=table, KeyConditionExpression="sk = :z", ExpressionAttributeValues={":z": {"N": "0"}})
    assert error(e) == ("ValidationException", "Query condition missed key schema element: pk")


def test_one_megabyte_pages(ddb):
    table = employees(ddb)
    blob = "x" * 100_000
    for i in range(25):
        ddb.put_item(TableName=table, Item={"id": {"S": f"big{i:02}"}, "blob": {"S": blob}})
    first = ddb.scan(TableName=table)
    assert 10 <= first["Count"] < 25 and "LastEvaluatedKey" in first
    total = first["Count"]
    key = first["LastEvaluatedKey"]
    while key:
        page = ddb.scan(TableName=table, ExclusiveStartKey=key)
        total += page["Count"]
        key = page.get("LastEvaluatedKey")
    assert total == 25


def test_batches(ddb):
    table = employees(ddb)
    writes = [{"PutRequest": {"Item": {"id": {"S": f"b{i}"}, "v": {"N": str(i)}}}} for i in range(25)]
    assert ddb.batch_write_item(RequestItems={table: writes})["UnprocessedItems"] == {}
    got = ddb.batch_get_item(RequestItems={table: {"Keys": [{"id": {"S": f"b{i}"}} for i in range(0, 25, 5)] + [{"id": {"S": "absent"}}],
                                                    "ProjectionExpression": "v"}})
    assert sorted(int(i["v"]["N"]) for i in got["Responses"][table]) == [0, 5, 10, 15, 20] and got["UnprocessedKeys"] == {}
    with pytest.raises(ClientError) as e:
        ddb.batch_write_item(RequestItems={table: writes + writes[:1]})
    assert error(e)[0] == "ValidationException"
    with pytest.raises(ClientError) as e:
        ddb.batch_write_item(RequestItems={table: [writes[0], writes[0]]})
    assert error(e) == ("ValidationException", "Provided list of item keys contains duplicates")
    with pytest.raises(ClientError) as e:
        ddb.batch_get_item(RequestItems={table: {"Keys": [{"id": {"S": str(i)}} for i in range(101)]}})
    assert error(e) == ("ValidationException", "Too many items requested for the BatchGetItem call")
    ddb.batch_write_item(RequestItems={table: [{"DeleteRequest": {"Key": {"id": {"S": f"b{i}"}}}} for i in range(25)]})
    assert ddb.scan(TableName=table)["Count"] == 0


def test_transactions(ddb):
    table = employees(ddb)
    ddb.put_item(TableName=table, Item={"id": {"S": "acct-a"}, "balance": {"N": "100"}})
    ddb.put_item(TableName=table, Item={"id": {"S": "acct-b"}, "balance": {"N": "0"}})

    def transfer(amount, token=None):
        kw = {"ClientRequestToken": token} if token else {}
        return ddb.transact_write_items(TransactItems=[
            {"Update": {"TableName": table, "Key": {"id": {"S": "acct-a"}}, "UpdateExpression": "SET balance = balance - :amt",
                        "ConditionExpression": "balance >= :amt", "ExpressionAttributeValues": {":amt": {"N": str(amount)}}}},
            {"Update": {"TableName": table, "Key": {"id": {"S": "acct-b"}}, "UpdateExpression": "SET balance = balance + :amt",
                        "ExpressionAttributeValues": {":amt": {"N": str(amount)}}}},
            {"Put": {"TableName": table, "Item": {"id": {"S": f"log-{amount}"}}}},
        ], **kw)

    transfer(60, token="t-1")
    transfer(60, token="t-1")  # the same token: answered, not repeated
    balances = ddb.transact_get_items(TransactItems=[{"Get": {"TableName": table, "Key": {"id": {"S": k}}}} for k in ("acct-a", "acct-b", "none")])
    assert [r.get("Item", {}).get("balance", {}).get("N") for r in balances["Responses"]] == ["40", "60", None]
    with pytest.raises(ClientError) as e:
        transfer(50)
    code, message = error(e)
    assert code == "TransactionCanceledException"
    assert message == "Transaction cancelled, please refer cancellation reasons for specific reasons [ConditionalCheckFailed, None, None]"
    assert [r["Code"] for r in e.value.response["CancellationReasons"]] == ["ConditionalCheckFailed", "None", "None"]
    # Nothing of the cancelled transaction was written.
    assert "Item" not in ddb.get_item(TableName=table, Key={"id": {"S": "log-50"}})
    assert ddb.get_item(TableName=table, Key={"id": {"S": "acct-b"}})["Item"]["balance"] == {"N": "60"}
    with pytest.raises(ClientError) as e:
        transfer(10, token="t-1")
    assert error(e)[0] == "IdempotentParameterMismatchException"
    with pytest.raises(ClientError) as e:
        ddb.transact_write_items(TransactItems=[{"Put": {"TableName": table, "Item": {"id": {"S": "same"}}}},
                                                {"Delete": {"TableName": table, "Key": {"id": {"S": "same"}}}}])
    assert error(e) == ("ValidationException", "Transaction request cannot include multiple operations on one item")


def test_table_lifecycle(ddb):
    table = name("life")
    ddb.create_table(TableName=table, KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                     ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}, Tags=[{"Key": "team", "Value": "a"}])
    with pytest.raises(ClientError) as e:
        ddb.create_table(TableName=table, KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    assert error(e) == ("ResourceInUseException", f"Table already exists: {table}")
    for i in range(3):
        ddb.put_item(TableName=table, Item={"k": {"S": str(i)}, "g": {"S": "x" if i else "y"}})
    # A GSI added later is backfilled from the items already there.
    out = ddb.update_table(TableName=table, AttributeDefinitions=[{"AttributeName": "g", "AttributeType": "S"}],
                           GlobalSecondaryIndexUpdates=[{"Create": {"IndexName": "by-g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                                                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                                                                    "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}}}])
    assert out["TableDescription"]["GlobalSecondaryIndexes"][0]["IndexStatus"] == "CREATING"
    xs = ddb.query(TableName=table, IndexName="by-g", KeyConditionExpression="g = :x", ExpressionAttributeValues={":x": {"S": "x"}})["Items"]
    assert sorted(i["k"]["S"] for i in xs) == ["1", "2"] and all(set(i) == {"k", "g"} for i in xs)
    arn = ddb.describe_table(TableName=table)["Table"]["TableArn"]
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "env", "Value": "dev"}])
    assert sorted(t["Key"] for t in ddb.list_tags_of_resource(ResourceArn=arn)["Tags"]) == ["env", "team"]
    assert ddb.describe_limits()["TableMaxReadCapacityUnits"] == 40000
    assert ddb.describe_endpoints()["Endpoints"][0]["CachePeriodInMinutes"] == 1440
    used = ddb.put_item(TableName=table, Item={"k": {"S": "big"}, "blob": {"S": "x" * 3000}}, ReturnConsumedCapacity="TOTAL")
    assert used["ConsumedCapacity"] == {"TableName": table, "CapacityUnits": 3.0}
    read = ddb.get_item(TableName=table, Key={"k": {"S": "big"}}, ReturnConsumedCapacity="TOTAL")["ConsumedCapacity"]
    assert read["CapacityUnits"] == 0.5  # eventually consistent: half a unit per 4 KB
    with pytest.raises(ClientError) as e:
        ddb.put_item(TableName=table, Item={"k": {"S": "x" * 2049}})
    assert error(e) == ("ValidationException", "One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes")
    ddb.update_time_to_live(TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"})
    assert ddb.describe_time_to_live(TableName=table)["TimeToLiveDescription"] == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires"}
    ddb.update_table(TableName=table, DeletionProtectionEnabled=True)
    with pytest.raises(ClientError) as e:
        ddb.delete_table(TableName=table)
    assert error(e)[0] == "ValidationException"
    ddb.update_table(TableName=table, DeletionProtectionEnabled=False)
    assert ddb.delete_table(TableName=table)["TableDescription"]["TableStatus"] == "DELETING"
    ddb.get_waiter("table_not_exists").wait(TableName=table, WaiterConfig={"Delay": 1})
    assert table not in ddb.list_tables()["TableNames"]


def test_create_table_errors(ddb):
    base = dict(TableName=name(), BillingMode="PAY_PER_REQUEST")
    cases = [
        (dict(KeySchema=[{"AttributeName": "a", "KeyType": "HASH"}], AttributeDefinitions=[{"AttributeName": "b", "AttributeType": "S"}]),
         "One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [a], AttributeDefinitions: [b]"),
        (dict(KeySchema=[{"AttributeName": "a", "KeyType": "RANGE"}], AttributeDefinitions=[{"AttributeName": "a", "AttributeType": "S"}]),
         "Invalid KeySchema: The first KeySchemaElement is not a HASH key type"),
        (dict(KeySchema=[{"AttributeName": "a", "KeyType": "HASH"}],
              AttributeDefinitions=[{"AttributeName": "a", "AttributeType": "S"}, {"AttributeName": "b", "AttributeType": "S"}]),
         "One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions"),
        (dict(KeySchema=[{"AttributeName": "a", "KeyType": "HASH"}], AttributeDefinitions=[{"AttributeName": "a", "AttributeType": "S"}],
              ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}),
         "One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST"),
    ]
    for kw, message in cases:
        with pytest.raises(ClientError) as e:
            ddb.create_table(**base, **kw)
        assert error(e) == ("ValidationException", message)
    with pytest.raises(ClientError) as e:
        ddb.create_table(TableName="ab", KeySchema=[{"AttributeName": "a", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "a", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    assert error(e)[0] == "ValidationException"


def test_legacy_parameters(ddb):
    table = name("legacy")
    ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}])
    ddb.put_item(TableName=table, Item={"pk": {"S": "p"}, "sk": {"S": "apple"}, "n": {"N": "1"}},
                 Expected={"pk": {"Exists": False}})
    with pytest.raises(ClientError) as e:
        ddb.put_item(TableName=table, Item={"pk": {"S": "p"}, "sk": {"S": "apple"}}, Expected={"pk": {"Exists": False}})
    assert error(e)[0] == "ConditionalCheckFailedException"
    ddb.put_item(TableName=table, Item={"pk": {"S": "p"}, "sk": {"S": "avocado"}, "n": {"N": "2"}})
    ddb.put_item(TableName=table, Item={"pk": {"S": "p"}, "sk": {"S": "banana"}, "n": {"N": "3"}})
    got = ddb.query(TableName=table, KeyConditions={
        "pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p"}]},
        "sk": {"ComparisonOperator": "BEGINS_WITH", "AttributeValueList": [{"S": "a"}]},
    }, QueryFilter={"n": {"ComparisonOperator": "GT", "AttributeValueList": [{"N": "1"}]}}, AttributesToGet=["sk"])
    assert got["Items"] == [{"sk": {"S": "avocado"}}] and got["ScannedCount"] == 2
    ddb.update_item(TableName=table, Key={"pk": {"S": "p"}, "sk": {"S": "banana"}},
                    AttributeUpdates={"n": {"Action": "ADD", "Value": {"N": "10"}}, "tag": {"Action": "PUT", "Value": {"S": "x"}}})
    item = ddb.get_item(TableName=table, Key={"pk": {"S": "p"}, "sk": {"S": "banana"}})["Item"]
    assert item["n"] == {"N": "13"} and item["tag"] == {"S": "x"}
    scanned = ddb.scan(TableName=table, ScanFilter={"n": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [{"N": "2"}, {"N": "13"}]}})
    assert scanned["Count"] == 2


def test_durable_across_restart(tmp_path):
    from conftest import Nubo
    import boto3
    n = Nubo(data_dir=str(tmp_path))
    try:
        client = lambda: boto3.client("dynamodb", endpoint_url=n.endpoint, region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")
        d = client()
        d.create_table(TableName="durable", KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                       AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
        d.put_item(TableName="durable", Item={"k": {"S": "kept"}, "n": {"N": "3.14"}})
        n.proc.kill()
        n.proc.wait()
        n = Nubo(data_dir=str(tmp_path))
        d = client()
        assert d.get_item(TableName="durable", Key={"k": {"S": "kept"}})["Item"] == {"k": {"S": "kept"}, "n": {"N": "3.14"}}
    finally:
        n.stop()


def test_cli(aws, ddb):
    table = name("cli")
    aws("dynamodb", "create-table", "--table-name", table, "--attribute-definitions", "AttributeName=id,AttributeType=S",
        "--key-schema", "AttributeName=id,KeyType=HASH", "--billing-mode", "PAY_PER_REQUEST")
    aws("dynamodb", "wait", "table-exists", "--table-name", table)
    aws("dynamodb", "put-item", "--table-name", table, "--item", json.dumps({"id": {"S": "1"}, "name": {"S": "Ana"}}))
    aws("dynamodb", "update-item", "--table-name", table, "--key", '{"id": {"S": "1"}}', "--update-expression", "SET age = :a",
        "--expression-attribute-values", '{":a": {"N": "30"}}')
    got = aws("dynamodb", "get-item", "--table-name", table, "--key", '{"id": {"S": "1"}}')
    assert got["Item"] == {"id": {"S": "1"}, "name": {"S": "Ana"}, "age": {"N": "30"}}
    scanned = aws("dynamodb", "scan", "--table-name", table, "--filter-expression", "age > :a", "--expression-attribute-values", '{":a": {"N": "18"}}')
    assert scanned["Count"] == 1
    failed = aws("dynamodb", "put-item", "--table-name", table, "--item", '{"id": {"S": "1"}}', "--condition-expression",
                 "attribute_not_exists(id)", check=False)
    assert failed.returncode != 0 and "ConditionalCheckFailedException" in failed.stderr
    assert table in aws("dynamodb", "list-tables")["TableNames"]
    aws("dynamodb", "delete-table", "--table-name", table)


def test_ttl_deletes_expired_items():
    """The TTL sweeper runs on nubo's clock: jumping it a minute makes the sweep run now."""
    import time
    import boto3
    from conftest import Nubo
    n = Nubo()
    try:
        d = boto3.client("dynamodb", endpoint_url=n.endpoint, region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")
        d.create_table(TableName="sessions", KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                       AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
        now = json.loads(n.http("GET", "/_nubo/clock")[2])["now"]
        import datetime
        epoch = int(datetime.datetime.fromisoformat(now.replace("Z", "+00:00")).timestamp())
        d.put_item(TableName="sessions", Item={"k": {"S": "old"}, "expires": {"N": str(epoch + 30)}})
        d.put_item(TableName="sessions", Item={"k": {"S": "young"}, "expires": {"N": str(epoch + 3600)}})
        d.put_item(TableName="sessions", Item={"k": {"S": "text"}, "expires": {"S": "not a number"}})
        d.update_time_to_live(TableName="sessions", TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"})
        assert n.http("POST", "/_nubo/clock", b'{"advance": "120s"}')[0] == 200
        deadline = time.monotonic() + 10
        while "Item" in d.get_item(TableName="sessions", Key={"k": {"S": "old"}}) and time.monotonic() < deadline:
            time.sleep(0.02)
        keys = sorted(i["k"]["S"] for i in d.scan(TableName="sessions")["Items"])
        assert keys == ["text", "young"]
    finally:
        n.stop()


def test_streams_record_every_change(ddb, boto):
    streams = boto("dynamodbstreams")
    table = name("streamed")
    out = ddb.create_table(TableName=table, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                           AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
                           StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    arn = out["TableDescription"]["LatestStreamArn"]
    ddb.put_item(TableName=table, Item={"id": {"S": "a"}, "v": {"N": "1"}})
    ddb.update_item(TableName=table, Key={"id": {"S": "a"}}, UpdateExpression="SET v = :two", ExpressionAttributeValues={":two": {"N": "2"}})
    ddb.delete_item(TableName=table, Key={"id": {"S": "a"}})
    assert any(s["StreamArn"] == arn for s in streams.list_streams(TableName=table)["Streams"])
    description = streams.describe_stream(StreamArn=arn)["StreamDescription"]
    assert description["StreamViewType"] == "NEW_AND_OLD_IMAGES" and description["TableName"] == table
    shard = description["Shards"][0]["ShardId"]
    latest = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="LATEST")["ShardIterator"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    page = streams.get_records(ShardIterator=iterator)
    records = page["Records"]
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    assert records[0]["dynamodb"]["NewImage"] == {"id": {"S": "a"}, "v": {"N": "1"}} and "OldImage" not in records[0]["dynamodb"]
    assert records[1]["dynamodb"]["OldImage"]["v"] == {"N": "1"} and records[1]["dynamodb"]["NewImage"]["v"] == {"N": "2"}
    assert records[2]["dynamodb"]["Keys"] == {"id": {"S": "a"}} and "NewImage" not in records[2]["dynamodb"]
    seqs = [r["dynamodb"]["SequenceNumber"] for r in records]
    assert seqs == sorted(seqs) and all(r["eventSource"] == "aws:dynamodb" for r in records)
    assert streams.get_records(ShardIterator=page["NextShardIterator"])["Records"] == []
    ddb.put_item(TableName=table, Item={"id": {"S": "b"}})
    assert [r["dynamodb"]["Keys"]["id"]["S"] for r in streams.get_records(ShardIterator=latest)["Records"]] == ["b"]
    after = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=seqs[1])
    assert [r["eventName"] for r in streams.get_records(ShardIterator=after["ShardIterator"])["Records"]] == ["REMOVE", "INSERT"]


def test_partiql(ddb):
    table = employees(ddb)
    ddb.execute_statement(Statement=f"INSERT INTO \"{table}\" VALUE {{'id': 'p1', 'name': 'Ana', 'department': 'eng', 'salary': 100, 'skills': <<'rust', 'go'>>}}")
    ddb.execute_statement(Statement=f"INSERT INTO \"{table}\" VALUE {{'id': ?, 'name': ?, 'department': 'ops', 'salary': 90}}",
                          Parameters=[{"S": "p2"}, {"S": "Bo"}])
    with pytest.raises(ClientError) as e:
        ddb.execute_statement(Statement=f"INSERT INTO \"{table}\" VALUE {{'id': 'p1'}}")
    assert error(e) == ("DuplicateItemException", "Duplicate primary key exists in table")
    rows = ddb.execute_statement(Statement=f"SELECT id, name FROM \"{table}\" WHERE salary > ?", Parameters=[{"N": "95"}])["Items"]
    assert rows == [{"id": {"S": "p1"}, "name": {"S": "Ana"}}]
    by_index = ddb.execute_statement(Statement=f"SELECT * FROM \"{table}\".\"by-department\" WHERE department = 'ops'")["Items"]
    assert [r["id"]["S"] for r in by_index] == ["p2"]
    out = ddb.execute_statement(Statement=f"UPDATE \"{table}\" SET salary = salary + 10 SET skills = set_add(skills, <<'sql'>>) WHERE id = 'p1' RETURNING ALL NEW *")
    assert out["Items"][0]["salary"] == {"N": "110"} and sorted(out["Items"][0]["skills"]["SS"]) == ["go", "rust", "sql"]
    with pytest.raises(ClientError) as e:
        ddb.execute_statement(Statement=f"UPDATE \"{table}\" SET salary = 1 WHERE id = 'nobody'")
    assert error(e)[0] == "ConditionalCheckFailedException"
    with pytest.raises(ClientError) as e:
        ddb.execute_statement(Statement=f"SELEC * FROM \"{table}\"")
    assert error(e)[0] == "ValidationException"
    batch = ddb.batch_execute_statement(Statements=[
        {"Statement": f"SELECT name FROM \"{table}\" WHERE id = ?", "Parameters": [{"S": "p2"}]},
        {"Statement": f"INSERT INTO \"{table}\" VALUE {{'id': 'p1'}}"},
        {"Statement": f"DELETE FROM \"{table}\" WHERE id = 'p2'"},
    ])["Responses"]
    assert batch[0]["Item"] == {"name": {"S": "Bo"}}
    assert batch[1]["Error"]["Code"] == "DuplicateItem" and "Error" not in batch[2]
    ddb.execute_transaction(TransactStatements=[
        {"Statement": f"INSERT INTO \"{table}\" VALUE {{'id': 'p3', 'department': 'eng', 'salary': 1}}"},
        {"Statement": f"UPDATE \"{table}\" SET salary = 0 WHERE id = 'p1' AND salary = 110"},
    ])
    with pytest.raises(ClientError) as e:
        ddb.execute_transaction(TransactStatements=[
            {"Statement": f"INSERT INTO \"{table}\" VALUE {{'id': 'p4'}}"},
            {"Statement": f"UPDATE \"{table}\" SET salary = 5 WHERE id = 'p1' AND salary = 110"},
        ])
    assert error(e)[0] == "TransactionCanceledException"
    got = ddb.execute_transaction(TransactStatements=[{"Statement": f"SELECT * FROM \"{table}\" WHERE id = '{k}'"} for k in ("p1", "p3", "p4")])
    assert [r.get("Item", {}).get("salary") for r in got["Responses"]] == [{"N": "0"}, {"N": "1"}, None]
    projected = ddb.execute_transaction(TransactStatements=[{"Statement": f"SELECT salary FROM \"{table}\" WHERE id = 'p3'"}])
    assert projected["Responses"] == [{"Item": {"salary": {"N": "1"}}}]
    checked = ddb.batch_execute_statement(Statements=[{"Statement": f"SELECT * FROM \"{table}\" WHERE id = 'p3' AND salary > 5"}])["Responses"]
    assert "Item" not in checked[0] and "Error" not in checked[0]
    keyed = ddb.execute_statement(Statement=f"SELECT id FROM \"{table}\" WHERE id = 'p3'", Limit=1)
    assert keyed["Items"] == [{"id": {"S": "p3"}}]


def test_backups_and_point_in_time_recovery():
    """A private nubo, so that jumping its clock separates the changes in time."""
    import datetime
    import boto3
    from conftest import Nubo
    n = Nubo()
    try:
        d = boto3.client("dynamodb", endpoint_url=n.endpoint, region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")
        advance = lambda: n.http("POST", "/_nubo/clock", b'{"advance": "60s"}')  # noqa: E731
        now = lambda: datetime.datetime.fromisoformat(json.loads(n.http("GET", "/_nubo/clock")[2])["now"].replace("Z", "+00:00"))  # noqa: E731
        d.create_table(TableName="orders", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                       AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
        d.put_item(TableName="orders", Item={"id": {"S": "1"}, "v": {"N": "1"}})
        backup = d.create_backup(TableName="orders", BackupName="nightly")["BackupDetails"]
        assert backup["BackupStatus"] == "AVAILABLE"
        d.put_item(TableName="orders", Item={"id": {"S": "2"}})
        restored = d.restore_table_from_backup(TargetTableName="orders-copy", BackupArn=backup["BackupArn"])["TableDescription"]
        assert restored["RestoreSummary"]["SourceBackupArn"] == backup["BackupArn"]
        assert [i["id"]["S"] for i in d.scan(TableName="orders-copy")["Items"]] == ["1"]
        assert [b["BackupName"] for b in d.list_backups(TableName="orders")["BackupSummaries"]] == ["nightly"]
        assert d.describe_backup(BackupArn=backup["BackupArn"])["BackupDescription"]["SourceTableDetails"]["ItemCount"] == 1

        with pytest.raises(ClientError) as e:
            d.restore_table_to_point_in_time(SourceTableName="orders", TargetTableName="orders-pitr", UseLatestRestorableTime=True)
        assert error(e)[0] == "PointInTimeRecoveryUnavailableException"
        d.update_continuous_backups(TableName="orders", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
        advance()
        d.update_item(TableName="orders", Key={"id": {"S": "1"}}, UpdateExpression="SET v = :v", ExpressionAttributeValues={":v": {"N": "2"}})
        advance()
        middle = now()
        advance()
        d.delete_item(TableName="orders", Key={"id": {"S": "1"}})
        d.put_item(TableName="orders", Item={"id": {"S": "3"}})
        advance()
        d.restore_table_to_point_in_time(SourceTableName="orders", TargetTableName="orders-then", RestoreDateTime=middle)
        then = {i["id"]["S"]: i.get("v", {}).get("N") for i in d.scan(TableName="orders-then")["Items"]}
        assert then == {"1": "2", "2": None}
        status = d.describe_continuous_backups(TableName="orders")["ContinuousBackupsDescription"]
        assert status["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
        d.delete_backup(BackupArn=backup["BackupArn"])
        with pytest.raises(ClientError) as e:
            d.describe_backup(BackupArn=backup["BackupArn"])
        assert error(e)[0] == "BackupNotFoundException"
    finally:
        n.stop()


def test_local_index_and_paging_details(ddb):
    table = name("lsi")
    ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "user", "KeyType": "HASH"}, {"AttributeName": "at", "KeyType": "RANGE"}],
                     AttributeDefinitions=[{"AttributeName": "user", "AttributeType": "S"}, {"AttributeName": "at", "AttributeType": "N"},
                                           {"AttributeName": "score", "AttributeType": "N"}],
                     LocalSecondaryIndexes=[{"IndexName": "by-score", "Projection": {"ProjectionType": "KEYS_ONLY"},
                                             "KeySchema": [{"AttributeName": "user", "KeyType": "HASH"}, {"AttributeName": "score", "KeyType": "RANGE"}]}])
    for i in range(6):
        ddb.put_item(TableName=table, Item={"user": {"S": "u"}, "at": {"N": str(i)}, "score": {"N": str(100 - i)}, "note": {"S": f"n{i}"}})
    q = dict(TableName=table, IndexName="by-score", KeyConditionExpression="#u = :u", ExpressionAttributeNames={"#u": "user"},
             ExpressionAttributeValues={":u": {"S": "u"}})
    keys_only = ddb.query(**q)["Items"]
    assert [int(i["score"]["N"]) for i in keys_only] == [95, 96, 97, 98, 99, 100] and all("note" not in i for i in keys_only)
    # A local index reads the other attributes from the table when asked for them.
    full = ddb.query(Select="ALL_ATTRIBUTES", **q)["Items"]
    assert [i["note"]["S"] for i in full] == ["n5", "n4", "n3", "n2", "n1", "n0"]
    # LastEvaluatedKey on an index carries the table's key and the index's, and resumes.
    first = ddb.query(Limit=4, ScanIndexForward=False, **q)
    assert set(first["LastEvaluatedKey"]) == {"user", "at", "score"}
    rest = ddb.query(ExclusiveStartKey=first["LastEvaluatedKey"], ScanIndexForward=False, **q)["Items"]
    assert [int(i["score"]["N"]) for i in first["Items"] + rest] == [100, 99, 98, 97, 96, 95]
    # Start keys are checked as DynamoDB checks them.
    base = dict(TableName=table, KeyConditionExpression="#u = :u AND #a > :zero", ExpressionAttributeNames={"#u": "user", "#a": "at"},
                ExpressionAttributeValues={":u": {"S": "u"}, ":zero": {"N": "0"}})
    cases = [
        ({"user": {"S": "u"}}, "The provided starting key is invalid"),
        ({"user": {"S": "u"}, "at": {"N": "-1"}}, "The provided starting key does not match the range key predicate"),
        ({"user": {"S": "other"}, "at": {"N": "3"}}, "The query can return at most one row and cannot be restarted"),
    ]
    for start, message in cases:
        with pytest.raises(ClientError) as e:
            ddb.query(ExclusiveStartKey=start, **base)
        assert error(e) == ("ValidationException", message)
    with pytest.raises(ClientError) as e:
        ddb.query(TableName=table, KeyConditionExpression="#u = :u", FilterExpression="#a > :zero",
                  ExpressionAttributeNames={"#u": "user", "#a": "at"}, ExpressionAttributeValues={":u": {"S": "u"}, ":zero": {"N": "0"}})
    assert error(e) == ("ValidationException", "Filter Expression can only contain non-primary key attributes: Primary key attribute: at")


def test_nesting_limit(ddb):
    table = employees(ddb)

    def nested(levels):
        value = {"S": "leaf"}
        for _ in range(levels):
            value = {"M": {"k": value}}
        return value

    ddb.put_item(TableName=table, Item={"id": {"S": "deep"}, "v": nested(32)})
    with pytest.raises(ClientError) as e:
        ddb.put_item(TableName=table, Item={"id": {"S": "deeper"}, "v": nested(33)})
    assert error(e) == ("ValidationException", "Nesting Levels have exceeded supported limits")
    # An update cannot make an item deeper than the limit either.
    with pytest.raises(ClientError) as e:
        ddb.update_item(TableName=table, Key={"id": {"S": "deep"}}, UpdateExpression="SET v.k = :v", ExpressionAttributeValues={":v": nested(32)})
    assert error(e)[0] == "ValidationException"
    assert "Item" in ddb.get_item(TableName=table, Key={"id": {"S": "deep"}})


def test_unchanged_writes_leave_no_stream_record(ddb, boto):
    streams = boto("dynamodbstreams")
    table = name("quiet")
    arn = ddb.create_table(TableName=table, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                           AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
                           StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})["TableDescription"]["LatestStreamArn"]
    item = {"id": {"S": "a"}, "v": {"N": "1"}}
    ddb.put_item(TableName=table, Item=item)
    ddb.put_item(TableName=table, Item=item)
    ddb.update_item(TableName=table, Key={"id": {"S": "a"}}, UpdateExpression="SET v = :one", ExpressionAttributeValues={":one": {"N": "1"}})
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    assert [r["eventName"] for r in streams.get_records(ShardIterator=it)["Records"]] == ["INSERT"]
