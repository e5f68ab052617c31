"""AWS's protocol output vectors, encoded by nubo and parsed by botocore.

`encode_vectors` (a Rust example of nubo-protocol) encodes the expected result of every
output case with nubo's codecs. botocore's own response parser must read each back into
exactly that result: the real client judges the wire format, as in botocore's own suite.
"""

import base64
import calendar
import copy
import json
import os
import subprocess
from pathlib import Path

import pytest
from botocore import parsers
from botocore.awsrequest import HeadersDict
from botocore.model import NoShapeFoundError
from botocore.model import OperationModel, ServiceModel
from botocore.utils import parse_timestamp

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "crates" / "protocol" / "tests" / "vectors"

# Cases botocore itself does not pass (its published ignore list), plus ours with reasons.
IGNORED = set()
for proto in json.loads((VECTORS / "protocol-tests-ignore-list.json").read_text())["protocols"].values():
    IGNORED.update(proto.get("output", {}).get("cases", []))
OURS = {
    # Error shapes with nested members: nubo's errors carry flat text fields only.
    "RestXmlComplexErrorWithNoMessage": "nested error members",
    "RestJsonComplexErrorWithNoMessage": "nested error members",
    "AwsJson10ComplexError": "nested error members",
    "AwsJson11ComplexError": "nested error members",
    "RpcV2CborComplexError": "nested error members",
    # A prefix-header map with an empty prefix claims every response header, including
    # Content-Type and the request id that every nubo response carries.
    "HttpPrefixHeadersResponse": "empty header prefix",
}


def encoded():
    binary = os.environ.get("NUBO_VECTORS_BIN") or str(ROOT / "target" / "debug" / "examples" / "encode_vectors")
    if not Path(binary).exists():
        subprocess.run(["cargo", "build", "-q", "-p", "nubo-protocol", "--example", "encode_vectors"], cwd=ROOT, check=True)
    out = subprocess.run([binary], capture_output=True, text=True, check=True).stdout
    return [json.loads(line) for line in out.splitlines()]


def cases():
    by_key = {}
    for f in sorted((VECTORS / "output").glob("*.json")):
        for suite in json.loads(f.read_text()):
            for case in suite["cases"]:
                by_key[(f.name, case["id"])] = (suite, case)
    return by_key


CASES = cases()
ENCODED = encoded()


def _epoch(value):
    dt = parse_timestamp(value)
    return calendar.timegm(dt.timetuple()) + dt.microsecond / 1e6


def _fix(parsed):
    if isinstance(parsed, dict):
        return {k: _fix(v) for k, v in parsed.items()}
    if isinstance(parsed, list):
        return [_fix(v) for v in parsed]
    if isinstance(parsed, bytes):
        return parsed.decode("utf-8")
    if isinstance(parsed, float):
        if parsed != parsed:
            return "NaN"
        if parsed in (float("inf"), float("-inf")):
            return "Infinity" if parsed > 0 else "-Infinity"
    return parsed


def _same(expected, actual):
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)) and not isinstance(expected, bool):
        return abs(expected - actual) < 1e-6
    if isinstance(expected, dict) and isinstance(actual, dict):
        return expected.keys() == actual.keys() and all(_same(v, actual[k]) for k, v in expected.items())
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(_same(a, b) for a, b in zip(expected, actual))
    return expected == actual


@pytest.mark.parametrize("enc", ENCODED, ids=[f"{e['file']}:{e['id']}" for e in ENCODED])
def test_botocore_parses_what_nubo_encodes(enc):
    if enc["id"] in IGNORED or enc["id"] in OURS:
        pytest.skip(OURS.get(enc["id"], "in botocore's own ignore list"))
    suite, case = copy.deepcopy(CASES[(enc["file"], enc["id"])])
    name = case["given"]["name"]
    description = copy.deepcopy(suite)
    description["operations"] = {name: case["given"]}
    model = ServiceModel(description)
    op = OperationModel(case["given"], model)
    protocol = model.metadata["protocol"]
    parser = parsers.create_parser(protocol)
    parser._timestamp_parser = _epoch
    response = {
        "status_code": enc["status"],
        "headers": HeadersDict(enc["headers"]),
        "body": base64.b64decode(enc["body"]),
        "context": {"operation_name": name},
    }
    output_shape = op.output_shape
    if protocol == "query" and output_shape is not None and output_shape.members:
        output_shape.serialization["resultWrapper"] = f"{name}Result"
    parsed = parser.parse(response, output_shape)
    if "error" in case:
        try:
            error_shape = model.shape_for_error_code(parsed.get("Error", {}).get("Code"))
        except NoShapeFoundError:
            error_shape = None
        if error_shape is not None:
            parsed.update(parser.parse(response, error_shape))
        expected = {"Error": {"Code": case.get("errorCode", ""), "Message": case.get("errorMessage", "")}}
        expected.update(case["error"])
        parsed["Error"] = {k: v for k, v in parsed.get("Error", {}).items() if k in ("Code", "Message")}
    else:
        expected = case["result"]
    parsed.pop("ResponseMetadata", None)
    parsed = _fix(parsed)
    assert _same(expected, parsed), f"\nexpected {expected}\nparsed   {parsed}\nbody     {base64.b64decode(enc['body'])[:600]!r}"
