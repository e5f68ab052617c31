"""S3 through boto3 and the AWS CLI: buckets, objects, listings, multipart, checksums."""

import base64
import time
import hashlib
import io
import os
import subprocess
import uuid

import pytest
from botocore.exceptions import ClientError


def name(prefix="b"):
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def code(e):
    return e.value.response["Error"]["Code"], e.value.response["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture
def s3(boto):
    return boto("s3")


@pytest.fixture
def bucket(s3):
    b = name()
    s3.create_bucket(Bucket=b)
    return b


# -- the seed walk-through ------------------------------------------------------------

def test_seed_walkthrough_create_upload_download_delete(boto, tmp_path):
    s3 = boto("s3", region="eu-west-1")
    b = name("seed")
    s3.create_bucket(Bucket=b, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    src = tmp_path / "hello.txt"
    src.write_text("Hello from nubo\n")
    s3.upload_file(str(src), b, "hello.txt")
    dst = tmp_path / "back.txt"
    s3.download_file(b, "hello.txt", str(dst))
    assert dst.read_text() == "Hello from nubo\n"
    assert s3.get_bucket_location(Bucket=b)["LocationConstraint"] == "eu-west-1"
    s3.delete_object(Bucket=b, Key="hello.txt")
    s3.delete_bucket(Bucket=b)
    assert b not in [x["Name"] for x in s3.list_buckets()["Buckets"]]


# -- buckets --------------------------------------------------------------------------

def test_location_constraint_rules(boto):
    with pytest.raises(ClientError) as e:
        boto("s3", region="us-west-2").create_bucket(Bucket=name(), CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert code(e) == ("IllegalLocationConstraintException", 400)
    with pytest.raises(ClientError) as e:
        boto("s3", region="eu-west-1").create_bucket(Bucket=name())
    assert code(e) == ("IllegalLocationConstraintException", 400)
    with pytest.raises(ClientError) as e:
        boto("s3").create_bucket(Bucket=name(), CreateBucketConfiguration={"LocationConstraint": "us-east-1"})
    assert code(e) == ("InvalidLocationConstraint", 400)
    # The us-east-1 endpoint creates buckets in any region.
    b = name()
    boto("s3").create_bucket(Bucket=b, CreateBucketConfiguration={"LocationConstraint": "ap-south-1"})
    assert boto("s3").get_bucket_location(Bucket=b)["LocationConstraint"] == "ap-south-1"
    head = boto("s3").head_bucket(Bucket=b)
    assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "ap-south-1"


def test_us_east_1_location_is_null(s3, bucket):
    assert s3.get_bucket_location(Bucket=bucket)["LocationConstraint"] is None


def test_bucket_already_owned_and_already_exists(boto):
    b = name()
    eu = boto("s3", region="eu-west-1")
    eu.create_bucket(Bucket=b, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    with pytest.raises(ClientError) as e:
        eu.create_bucket(Bucket=b, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert code(e) == ("BucketAlreadyOwnedByYou", 409)
    with pytest.raises(ClientError) as e:
        boto("s3", region="eu-west-1", access_key="111122223333").create_bucket(
            Bucket=b, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert code(e) == ("BucketAlreadyExists", 409)


def test_invalid_bucket_names(s3):
    for bad in ["ab", "Upper-Case", "under_score", "-start", "1.2.3.4", "a..b"]:
        with pytest.raises(ClientError) as e:
            s3.create_bucket(Bucket=bad)
        assert code(e) == ("InvalidBucketName", 400), bad


def test_list_buckets_shows_only_the_callers(boto):
    mine, theirs = name(), name()
    boto("s3").create_bucket(Bucket=mine)
    boto("s3", access_key="444455556666").create_bucket(Bucket=theirs)
    names = [b["Name"] for b in boto("s3").list_buckets()["Buckets"]]
    assert mine in names and theirs not in names
    listed = boto("s3").list_buckets(Prefix=mine[:6], MaxBuckets=1000)["Buckets"]
    assert all(b["Name"].startswith(mine[:6]) for b in listed)


def test_delete_non_empty_bucket_is_refused(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    with pytest.raises(ClientError) as e:
        s3.delete_bucket(Bucket=bucket)
    assert code(e) == ("BucketNotEmpty", 409)


def test_missing_bucket(s3):
    with pytest.raises(ClientError) as e:
        s3.list_objects_v2(Bucket=name("missing"))
    assert code(e) == ("NoSuchBucket", 404)
    with pytest.raises(ClientError) as e:
        s3.head_bucket(Bucket=name("missing"))
    assert code(e)[1] == 404


# -- objects ----------------------------------------------------------------------------

def test_put_get_with_metadata_and_content_headers(s3, bucket):
    body = b"<h1>hi</h1>"
    put = s3.put_object(Bucket=bucket, Key="page.html", Body=body, ContentType="text/html", CacheControl="max-age=60",
                        ContentDisposition="inline", ContentLanguage="en", Metadata={"Color": "blue"})
    assert put["ETag"] == '"%s"' % hashlib.md5(body).hexdigest()
    got = s3.get_object(Bucket=bucket, Key="page.html")
    assert got["Body"].read() == body
    assert got["ContentType"] == "text/html"
    assert got["CacheControl"] == "max-age=60"
    assert got["ContentDisposition"] == "inline"
    assert got["ContentLanguage"] == "en"
    assert got["Metadata"] == {"color": "blue"}
    assert got["ContentLength"] == len(body)
    assert got["ETag"] == put["ETag"]
    over = s3.get_object(Bucket=bucket, Key="page.html", ResponseContentType="text/plain")
    assert over["ContentType"] == "text/plain"


def test_keys_of_any_utf8_round_trip_and_stay_inside(s3, bucket):
    keys = ["a b/c+d?e=f&g", "ünï/cödé ✓", "../../etc/passwd", "dir/", "x" * 1024, "%41%2F"]
    for k in keys:
        s3.put_object(Bucket=bucket, Key=k, Body=k.encode())
    for k in keys:
        assert s3.get_object(Bucket=bucket, Key=k)["Body"].read() == k.encode()
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert sorted(listed) == sorted(keys)
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="x" * 1025, Body=b"")
    assert code(e) == ("KeyTooLongError", 400)


def test_missing_key_is_no_such_key(s3, bucket):
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="nope")
    assert code(e) == ("NoSuchKey", 404)
    assert e.value.response["Error"]["Key"] == "nope"
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="nope")
    assert code(e)[1] == 404


def test_empty_object(s3, bucket):
    s3.put_object(Bucket=bucket, Key="empty", Body=b"")
    got = s3.get_object(Bucket=bucket, Key="empty")
    assert got["Body"].read() == b"" and got["ContentLength"] == 0
    assert got["ETag"] == '"d41d8cd98f00b204e9800998ecf8427e"'


def test_ranges(s3, bucket):
    s3.put_object(Bucket=bucket, Key="r", Body=b"0123456789")
    part = s3.get_object(Bucket=bucket, Key="r", Range="bytes=2-5")
    assert part["Body"].read() == b"2345"
    assert part["ContentRange"] == "bytes 2-5/10"
    assert part["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert s3.get_object(Bucket=bucket, Key="r", Range="bytes=-3")["Body"].read() == b"789"
    assert s3.get_object(Bucket=bucket, Key="r", Range="bytes=7-")["Body"].read() == b"789"
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="r", Range="bytes=10-20")
    assert code(e) == ("InvalidRange", 416)


def test_conditional_requests(s3, bucket):
    etag = s3.put_object(Bucket=bucket, Key="c", Body=b"v1")["ETag"]
    assert s3.get_object(Bucket=bucket, Key="c", IfMatch=etag)["Body"].read() == b"v1"
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="c", IfMatch='"0000"')
    assert code(e) == ("PreconditionFailed", 412)
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="c", IfNoneMatch=etag)
    assert code(e)[1] == 304
    import datetime
    future = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="c", IfModifiedSince=future)
    assert code(e)[1] == 304
    past = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="c", IfUnmodifiedSince=past)
    assert code(e) == ("PreconditionFailed", 412)
    # Conditional writes: create-only and compare-and-swap.
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="c", Body=b"v2", IfNoneMatch="*")
    assert code(e) == ("PreconditionFailed", 412)
    s3.put_object(Bucket=bucket, Key="c", Body=b"v2", IfMatch=etag)
    assert s3.get_object(Bucket=bucket, Key="c")["Body"].read() == b"v2"


# CRC32C needs botocore[crt] on the client side; its value is unit-tested in checksum.rs.
@pytest.mark.parametrize("algorithm, field", [("CRC32", "ChecksumCRC32"),
                                              ("SHA1", "ChecksumSHA1"), ("SHA256", "ChecksumSHA256")])
def test_checksums_are_computed_checked_and_returned(s3, bucket, algorithm, field):
    body = b"checksum me" * 100
    put = s3.put_object(Bucket=bucket, Key="k", Body=body, ChecksumAlgorithm=algorithm)
    assert field in put
    got = s3.get_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert got[field] == put[field]
    assert got["Body"].read() == body
    if algorithm == "SHA256":
        assert put[field] == base64.b64encode(hashlib.sha256(body).digest()).decode()


def test_wrong_checksum_and_md5_are_bad_digests(s3, bucket):
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="bad", Body=b"data", ChecksumCRC32="AAAAAA==")
    assert code(e) == ("BadDigest", 400)
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="bad", Body=b"data", ContentMD5=base64.b64encode(b"0" * 16).decode())
    assert code(e) == ("BadDigest", 400)
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="bad")


def _aws_chunked(data: bytes, trailer: str) -> bytes:
    out = b""
    for i in range(0, len(data), 7):
        piece = data[i:i + 7]
        out += b"%x\r\n" % len(piece) + piece + b"\r\n"
    return out + b"0\r\n" + trailer.encode() + b"\r\n\r\n"


def test_aws_chunked_upload_with_trailing_checksum(nubo, s3, bucket):
    import zlib
    data = b"streamed with a trailer " * 10
    crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    headers = {
        "Content-Encoding": "aws-chunked",
        "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "x-amz-decoded-content-length": str(len(data)),
        "x-amz-trailer": "x-amz-checksum-crc32",
        "x-amz-sdk-checksum-algorithm": "CRC32",
    }
    status, _, body = nubo.http("PUT", f"/{bucket}/chunked", _aws_chunked(data, f"x-amz-checksum-crc32:{crc}"), headers)
    assert status == 200, body
    got = s3.get_object(Bucket=bucket, Key="chunked", ChecksumMode="ENABLED")
    assert got["Body"].read() == data
    assert got["ChecksumCRC32"] == crc
    assert "ContentEncoding" not in got  # aws-chunked is transport, not content
    status, _, body = nubo.http("PUT", f"/{bucket}/chunked-bad", _aws_chunked(data, "x-amz-checksum-crc32:AAAAAA=="), headers)
    assert status == 400 and b"<Code>BadDigest</Code>" in body


def test_copy_object_metadata_directives(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"copy me", ContentType="text/plain", Metadata={"a": "1"})
    s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    got = s3.get_object(Bucket=bucket, Key="dst")
    assert got["Body"].read() == b"copy me" and got["Metadata"] == {"a": "1"} and got["ContentType"] == "text/plain"
    s3.copy_object(Bucket=bucket, Key="dst2", CopySource=f"{bucket}/src", MetadataDirective="REPLACE",
                   Metadata={"b": "2"}, ContentType="application/json")
    got = s3.head_object(Bucket=bucket, Key="dst2")
    assert got["Metadata"] == {"b": "2"} and got["ContentType"] == "application/json"
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="src", CopySource={"Bucket": bucket, "Key": "src"})
    assert code(e) == ("InvalidRequest", 400)
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="x", CopySource={"Bucket": bucket, "Key": "missing"})
    assert code(e) == ("NoSuchKey", 404)


def test_delete_objects_and_quiet_mode(s3, bucket):
    for k in ["a", "b", "c"]:
        s3.put_object(Bucket=bucket, Key=k, Body=b"x")
    out = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "a"}, {"Key": "b"}, {"Key": "never"}]})
    assert sorted(d["Key"] for d in out["Deleted"]) == ["a", "b", "never"]
    out = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "c"}], "Quiet": True})
    assert out.get("Deleted", []) == []
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_delete_object_is_idempotent(s3, bucket):
    assert s3.delete_object(Bucket=bucket, Key="never")["ResponseMetadata"]["HTTPStatusCode"] == 204


def test_object_tagging(s3, bucket):
    s3.put_object(Bucket=bucket, Key="t", Body=b"x", Tagging="env=dev&team=a%20b")
    assert s3.get_object_tagging(Bucket=bucket, Key="t")["TagSet"] == [{"Key": "env", "Value": "dev"}, {"Key": "team", "Value": "a b"}]
    assert s3.get_object(Bucket=bucket, Key="t")["TagCount"] == 2
    s3.put_object_tagging(Bucket=bucket, Key="t", Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
    assert s3.get_object_tagging(Bucket=bucket, Key="t")["TagSet"] == [{"Key": "k", "Value": "v"}]
    s3.delete_object_tagging(Bucket=bucket, Key="t")
    assert s3.get_object_tagging(Bucket=bucket, Key="t")["TagSet"] == []
    with pytest.raises(ClientError) as e:
        s3.put_object_tagging(Bucket=bucket, Key="t", Tagging={"TagSet": [{"Key": f"k{i}", "Value": "v"} for i in range(11)]})
    assert code(e) == ("InvalidTag", 400)


def test_bucket_tagging(s3, bucket):
    with pytest.raises(ClientError) as e:
        s3.get_bucket_tagging(Bucket=bucket)
    assert code(e) == ("NoSuchTagSet", 404)
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "owner", "Value": "me"}]})
    assert s3.get_bucket_tagging(Bucket=bucket)["TagSet"] == [{"Key": "owner", "Value": "me"}]
    s3.delete_bucket_tagging(Bucket=bucket)
    with pytest.raises(ClientError):
        s3.get_bucket_tagging(Bucket=bucket)


# -- listings -----------------------------------------------------------------------------

@pytest.fixture
def tree(s3, bucket):
    keys = ["a.txt", "docs/one.md", "docs/two.md", "docs/sub/three.md", "img/x.png", "img/y.png", "z.txt"]
    for k in keys:
        s3.put_object(Bucket=bucket, Key=k, Body=k.encode())
    return bucket, keys


def test_list_v2_prefix_delimiter_and_common_prefixes(s3, tree):
    bucket, keys = tree
    out = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [o["Key"] for o in out["Contents"]] == ["a.txt", "z.txt"]
    assert [p["Prefix"] for p in out["CommonPrefixes"]] == ["docs/", "img/"]
    assert out["KeyCount"] == 4
    out = s3.list_objects_v2(Bucket=bucket, Prefix="docs/", Delimiter="/")
    assert [o["Key"] for o in out["Contents"]] == ["docs/one.md", "docs/two.md"]
    assert [p["Prefix"] for p in out["CommonPrefixes"]] == ["docs/sub/"]
    out = s3.list_objects_v2(Bucket=bucket, StartAfter="docs/two.md")
    assert [o["Key"] for o in out["Contents"]] == ["img/x.png", "img/y.png", "z.txt"]


def test_list_v2_pages_with_continuation(s3, tree):
    bucket, keys = tree
    seen, token = [], None
    while True:
        kw = {"ContinuationToken": token} if token else {}
        out = s3.list_objects_v2(Bucket=bucket, MaxKeys=2, **kw)
        seen += [o["Key"] for o in out.get("Contents", [])]
        if not out["IsTruncated"]:
            break
        token = out["NextContinuationToken"]
    assert seen == sorted(keys)
    paginated = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, PaginationConfig={"PageSize": 3})
                 for o in page.get("Contents", [])]
    assert paginated == sorted(keys)


def test_list_v2_pages_through_common_prefixes(s3, tree):
    bucket, _ = tree
    items = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Delimiter="/", PaginationConfig={"PageSize": 1}):
        items += [o["Key"] for o in page.get("Contents", [])] + [p["Prefix"] for p in page.get("CommonPrefixes", [])]
    assert items == ["a.txt", "docs/", "img/", "z.txt"]


def test_list_v1_markers(s3, tree):
    bucket, keys = tree
    items = []
    for page in s3.get_paginator("list_objects").paginate(Bucket=bucket, Delimiter="/", PaginationConfig={"PageSize": 1}):
        items += [o["Key"] for o in page.get("Contents", [])] + [p["Prefix"] for p in page.get("CommonPrefixes", [])]
    assert items == ["a.txt", "docs/", "img/", "z.txt"]
    out = s3.list_objects(Bucket=bucket, Marker="img/x.png")
    assert [o["Key"] for o in out["Contents"]] == ["img/y.png", "z.txt"]
    assert out["Contents"][0]["Owner"]["ID"]


def test_list_url_encoding_round_trips_odd_keys(nubo, s3, bucket):
    odd = ["sp ace", "plus+sign", "ü/ñ", "amp&er"]
    for k in odd:
        s3.put_object(Bucket=bucket, Key=k, Body=b"x")
    # boto3 asks for encoding-type=url and decodes transparently.
    assert sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]) == sorted(odd)
    status, _, body = nubo.http("GET", f"/{bucket}?list-type=2&encoding-type=url")
    assert status == 200 and b"<Key>sp%20ace</Key>" in body and b"<EncodingType>url</EncodingType>" in body


# -- multipart -------------------------------------------------------------------------------

def test_multipart_upload_complete_list_and_etag(s3, bucket):
    part1, part2 = os.urandom(5 << 20), b"tail"
    up = s3.create_multipart_upload(Bucket=bucket, Key="mp", ContentType="application/x-test", Metadata={"m": "1"})
    uid = up["UploadId"]
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=bucket)["Uploads"]] == [uid]
    e1 = s3.upload_part(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=1, Body=part1)["ETag"]
    e2 = s3.upload_part(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=2, Body=part2)["ETag"]
    parts = s3.list_parts(Bucket=bucket, Key="mp", UploadId=uid)["Parts"]
    assert [(p["PartNumber"], p["Size"]) for p in parts] == [(1, len(part1)), (2, 4)]
    done = s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=uid,
                                        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
    expected = hashlib.md5(hashlib.md5(part1).digest() + hashlib.md5(part2).digest()).hexdigest() + "-2"
    assert done["ETag"] == f'"{expected}"'
    got = s3.get_object(Bucket=bucket, Key="mp")
    assert got["Body"].read() == part1 + part2
    assert got["ContentType"] == "application/x-test" and got["Metadata"] == {"m": "1"}
    assert s3.head_object(Bucket=bucket, Key="mp", PartNumber=2)["ContentLength"] == 4
    # A range across the part boundary.
    edge = s3.get_object(Bucket=bucket, Key="mp", Range=f"bytes={len(part1) - 2}-{len(part1) + 1}")["Body"].read()
    assert edge == part1[-2:] + b"ta"
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_multipart_errors(s3, bucket):
    uid = s3.create_multipart_upload(Bucket=bucket, Key="e")["UploadId"]
    small = s3.upload_part(Bucket=bucket, Key="e", UploadId=uid, PartNumber=1, Body=b"small")["ETag"]
    last = s3.upload_part(Bucket=bucket, Key="e", UploadId=uid, PartNumber=2, Body=b"last")["ETag"]
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="e", UploadId=uid,
                                     MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": small}, {"PartNumber": 2, "ETag": last}]})
    assert code(e) == ("EntityTooSmall", 400)
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="e", UploadId=uid,
                                     MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": last}, {"PartNumber": 1, "ETag": small}]})
    assert code(e) == ("InvalidPartOrder", 400)
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="e", UploadId=uid,
                                     MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"deadbeef"'}]})
    assert code(e) == ("InvalidPart", 400)
    with pytest.raises(ClientError) as e:
        s3.upload_part(Bucket=bucket, Key="e", UploadId=uid, PartNumber=10001, Body=b"x")
    assert code(e) == ("InvalidArgument", 400)
    s3.abort_multipart_upload(Bucket=bucket, Key="e", UploadId=uid)
    with pytest.raises(ClientError) as e:
        s3.upload_part(Bucket=bucket, Key="e", UploadId=uid, PartNumber=1, Body=b"x")
    assert code(e) == ("NoSuchUpload", 404)


def test_upload_part_copy(s3, bucket):
    src = os.urandom(6 << 20)
    s3.put_object(Bucket=bucket, Key="src", Body=src)
    uid = s3.create_multipart_upload(Bucket=bucket, Key="dst")["UploadId"]
    p1 = s3.upload_part_copy(Bucket=bucket, Key="dst", UploadId=uid, PartNumber=1, CopySource=f"{bucket}/src",
                             CopySourceRange=f"bytes=0-{(5 << 20) - 1}")["CopyPartResult"]["ETag"]
    p2 = s3.upload_part_copy(Bucket=bucket, Key="dst", UploadId=uid, PartNumber=2, CopySource=f"{bucket}/src",
                             CopySourceRange=f"bytes={5 << 20}-{len(src) - 1}")["CopyPartResult"]["ETag"]
    s3.complete_multipart_upload(Bucket=bucket, Key="dst", UploadId=uid,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": p1}, {"PartNumber": 2, "ETag": p2}]})
    assert s3.get_object(Bucket=bucket, Key="dst")["Body"].read() == src


def test_boto3_upload_file_multipart_100mb_streams(s3, bucket, tmp_path):
    src = tmp_path / "big.bin"
    chunk = os.urandom(1 << 20)
    h = hashlib.sha256()
    with open(src, "wb") as f:
        for _ in range(100):
            f.write(chunk)
            h.update(chunk)
    s3.upload_file(str(src), bucket, "big.bin")
    head = s3.head_object(Bucket=bucket, Key="big.bin")
    assert head["ContentLength"] == 100 << 20
    assert head["ETag"].endswith('-13"')  # s3transfer's 8 MiB parts
    dst = tmp_path / "back.bin"
    s3.download_file(bucket, "big.bin", str(dst))
    h2 = hashlib.sha256()
    with open(dst, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h2.update(block)
    assert h2.hexdigest() == h.hexdigest()


# -- the AWS CLI -----------------------------------------------------------------------------

def test_cli_high_level_commands(aws, tmp_path):
    b = name("cli")
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("A")
    (src / "sub" / "b.txt").write_text("B")
    aws("s3", "mb", f"s3://{b}")
    aws("s3", "sync", str(src), f"s3://{b}/site")
    listing = aws("s3", "ls", f"s3://{b}/site/", "--recursive", check=False)
    assert "site/a.txt" in listing.stdout and "site/sub/b.txt" in listing.stdout
    dst = tmp_path / "dst"
    aws("s3", "cp", f"s3://{b}/site", str(dst), "--recursive")
    assert (dst / "sub" / "b.txt").read_text() == "B"
    out = aws("s3api", "get-object", "--bucket", b, "--key", "site/a.txt", str(tmp_path / "a.out"))
    assert out["ContentLength"] == 1
    assert [o["Key"] for o in aws("s3api", "list-objects-v2", "--bucket", b, "--prefix", "site/sub/")["Contents"]] == ["site/sub/b.txt"]
    p = aws("s3", "rb", f"s3://{b}", check=False)
    assert p.returncode != 0 and "BucketNotEmpty" in p.stderr
    aws("s3", "rb", f"s3://{b}", "--force")
    assert b not in [x["Name"] for x in aws("s3api", "list-buckets")["Buckets"]]


def test_cli_errors(aws):
    p = aws("s3api", "get-object", "--bucket", name("missing"), "--key", "k", "/dev/null", check=False)
    assert p.returncode != 0 and "NoSuchBucket" in p.stderr


# -- addressing and persistence --------------------------------------------------------------

def test_virtual_host_style_put_and_get(nubo, s3, bucket):
    port = nubo.endpoint.rsplit(":", 1)[1]
    status, _, _ = nubo.http("PUT", "/vh.txt", b"virtual", {"Host": f"{bucket}.localhost:{port}"})
    assert status == 200
    status, _, body = nubo.http("GET", "/vh.txt", headers={"Host": f"{bucket}.s3.localhost.localstack.cloud:{port}"})
    assert (status, body) == (200, b"virtual")
    assert s3.get_object(Bucket=bucket, Key="vh.txt")["Body"].read() == b"virtual"


def test_objects_survive_restart_and_kill_9(tmp_path, client_config):
    import boto3
    import signal

    from conftest import Nubo

    def client(n):
        return boto3.client("s3", endpoint_url=n.endpoint, region_name="us-east-1", aws_access_key_id="test",
                            aws_secret_access_key="test", config=client_config)

    n = Nubo(data_dir=str(tmp_path))
    c = client(n)
    c.create_bucket(Bucket="durable")
    c.put_object(Bucket="durable", Key="graceful", Body=b"kept")
    n.stop()
    n = Nubo(data_dir=str(tmp_path))
    c = client(n)
    assert c.get_object(Bucket="durable", Key="graceful")["Body"].read() == b"kept"
    c.put_object(Bucket="durable", Key="killed", Body=b"acknowledged")
    n.proc.send_signal(signal.SIGKILL)
    n.proc.wait()
    n = Nubo(data_dir=str(tmp_path))
    try:
        c = client(n)
        assert c.get_object(Bucket="durable", Key="killed")["Body"].read() == b"acknowledged"
        assert sorted(o["Key"] for o in c.list_objects_v2(Bucket="durable")["Contents"]) == ["graceful", "killed"]
    finally:
        n.stop()


def test_presigned_get_and_put_and_expiry(nubo, s3, bucket):
    import time
    import urllib.request

    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "pre"}, ExpiresIn=300)
    req = urllib.request.Request(put_url, data=b"via presigned put", method="PUT")
    with urllib.request.urlopen(req) as r:
        assert r.status == 200
    get_url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "pre"}, ExpiresIn=300)
    with urllib.request.urlopen(get_url) as r:
        assert r.read() == b"via presigned put"
    # Signed an hour ago for ten minutes: expired by the signer's (wall) clock.
    signed = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() - 3600))
    expired = get_url.split("?")[0] + f"?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date={signed}&X-Amz-Expires=600"
    status, _, body = nubo.http("GET", expired[len(nubo.endpoint):])
    assert status == 403 and b"<Code>AccessDenied</Code>" in body and b"Request has expired" in body


def test_large_upload_streams_with_flat_memory(tmp_path, aws, client_config):
    """A 1 GiB `aws s3 cp` through a file-backed nubo: RSS stays far below the object size."""
    import threading

    import boto3

    from conftest import Nubo

    n = Nubo(data_dir=str(tmp_path / "data"))
    peak = [0]
    done = threading.Event()

    def sample():
        while not done.is_set():
            try:
                with open(f"/proc/{n.proc.pid}/status") as f:
                    rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS"))
                peak[0] = max(peak[0], rss)
            except (OSError, StopIteration):
                pass
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    try:
        src = tmp_path / "1g.bin"
        block = os.urandom(1 << 20)
        digest = hashlib.md5()
        with open(src, "wb") as f:
            for _ in range(1024):
                f.write(block)
                digest.update(block)
        env = dict(os.environ, AWS_ENDPOINT_URL=n.endpoint, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
                   AWS_DEFAULT_REGION="us-east-1")
        cli = os.path.join(os.path.dirname(__import__("sys").executable), "aws")
        sampler.start()
        subprocess.run([cli, "s3", "mb", "s3://large"], env=env, check=True, capture_output=True)
        subprocess.run([cli, "s3", "cp", str(src), "s3://large/1g.bin", "--quiet"], env=env, check=True, capture_output=True)
        src.unlink()
        c = boto3.client("s3", endpoint_url=n.endpoint, region_name="us-east-1", aws_access_key_id="test",
                         aws_secret_access_key="test", config=client_config)
        body = c.get_object(Bucket="large", Key="1g.bin")["Body"]
        back = hashlib.md5()
        for block in iter(lambda: body.read(1 << 20), b""):
            back.update(block)
        assert back.hexdigest() == digest.hexdigest()
    finally:
        done.set()
        n.stop()
    assert peak[0] > 0
    assert peak[0] < 100 * 1024, f"peak RSS {peak[0] // 1024} MiB while moving 1 GiB"


# -- versioning --------------------------------------------------------------------------------

def test_versioning_keeps_every_version_and_delete_markers(s3, bucket):
    s3.put_object(Bucket=bucket, Key="doc", Body=b"before versioning")
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    v1 = s3.put_object(Bucket=bucket, Key="doc", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="doc", Body=b"two")["VersionId"]
    assert v1 != v2 and v1 != "null"
    assert s3.get_object(Bucket=bucket, Key="doc")["Body"].read() == b"two"
    assert s3.get_object(Bucket=bucket, Key="doc", VersionId=v1)["Body"].read() == b"one"
    assert s3.get_object(Bucket=bucket, Key="doc", VersionId="null")["Body"].read() == b"before versioning"
    assert s3.head_object(Bucket=bucket, Key="doc")["VersionId"] == v2

    deleted = s3.delete_object(Bucket=bucket, Key="doc")
    assert deleted["DeleteMarker"] is True
    marker = deleted["VersionId"]
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="doc")
    assert code(e) == ("NoSuchKey", 404)
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="doc", VersionId=marker)
    assert code(e) == ("MethodNotAllowed", 405)
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0

    listed = s3.list_object_versions(Bucket=bucket)
    assert [(v["VersionId"], v["IsLatest"]) for v in listed["Versions"]] == [(v2, False), (v1, False), ("null", False)]
    assert [(m["VersionId"], m["IsLatest"]) for m in listed["DeleteMarkers"]] == [(marker, True)]

    # Deleting the marker brings the previous version back.
    s3.delete_object(Bucket=bucket, Key="doc", VersionId=marker)
    assert s3.get_object(Bucket=bucket, Key="doc")["Body"].read() == b"two"
    # Deleting the current version for good makes the one before current.
    s3.delete_object(Bucket=bucket, Key="doc", VersionId=v2)
    assert s3.get_object(Bucket=bucket, Key="doc")["Body"].read() == b"one"
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="doc", VersionId=v2)
    assert code(e) == ("NoSuchVersion", 404)


def test_suspended_versioning_overwrites_the_null_version(s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    kept = s3.put_object(Bucket=bucket, Key="k", Body=b"kept")["VersionId"]
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    assert s3.put_object(Bucket=bucket, Key="k", Body=b"n1").get("VersionId", "null") == "null"
    s3.put_object(Bucket=bucket, Key="k", Body=b"n2")
    ids = [v["VersionId"] for v in s3.list_object_versions(Bucket=bucket)["Versions"]]
    assert ids == ["null", kept]
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"n2"


def test_versioned_bucket_must_be_emptied_of_versions(s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    v = s3.put_object(Bucket=bucket, Key="k", Body=b"x")["VersionId"]
    m = s3.delete_object(Bucket=bucket, Key="k")["VersionId"]
    with pytest.raises(ClientError) as e:
        s3.delete_bucket(Bucket=bucket)
    assert code(e) == ("BucketNotEmpty", 409)
    s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "k", "VersionId": v}, {"Key": "k", "VersionId": m}]})
    s3.delete_bucket(Bucket=bucket)


def test_list_object_versions_pages(s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for k in ["a", "b"]:
        for i in range(3):
            s3.put_object(Bucket=bucket, Key=k, Body=str(i).encode())
    seen = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, PaginationConfig={"PageSize": 2}):
        seen += [(v["Key"], v["IsLatest"]) for v in page.get("Versions", [])]
    assert seen == [("a", True), ("a", False), ("a", False), ("b", True), ("b", False), ("b", False)]


def test_copy_from_an_old_version(s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket=bucket, Key="src", Body=b"old")["VersionId"]
    s3.put_object(Bucket=bucket, Key="src", Body=b"new")
    out = s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src", "VersionId": v1})
    assert out["CopySourceVersionId"] == v1
    assert s3.get_object(Bucket=bucket, Key="dst")["Body"].read() == b"old"


@pytest.mark.parametrize("checksum_type", ["FULL_OBJECT", "COMPOSITE"])
def test_multipart_checksums_full_object_and_composite(s3, bucket, checksum_type):
    import zlib

    p1, p2 = os.urandom(5 << 20), b"end"
    up = s3.create_multipart_upload(Bucket=bucket, Key="ck", ChecksumAlgorithm="CRC32", ChecksumType=checksum_type)
    assert up["ChecksumType"] == checksum_type
    uid = up["UploadId"]
    r1 = s3.upload_part(Bucket=bucket, Key="ck", UploadId=uid, PartNumber=1, Body=p1, ChecksumAlgorithm="CRC32")
    r2 = s3.upload_part(Bucket=bucket, Key="ck", UploadId=uid, PartNumber=2, Body=p2, ChecksumAlgorithm="CRC32")
    parts = [{"PartNumber": 1, "ETag": r1["ETag"], "ChecksumCRC32": r1["ChecksumCRC32"]},
             {"PartNumber": 2, "ETag": r2["ETag"], "ChecksumCRC32": r2["ChecksumCRC32"]}]
    whole = base64.b64encode(zlib.crc32(p1 + p2).to_bytes(4, "big")).decode()
    extra = {"ChecksumCRC32": whole, "ChecksumType": "FULL_OBJECT"} if checksum_type == "FULL_OBJECT" else {}
    done = s3.complete_multipart_upload(Bucket=bucket, Key="ck", UploadId=uid, MultipartUpload={"Parts": parts}, **extra)
    head = s3.head_object(Bucket=bucket, Key="ck", ChecksumMode="ENABLED")
    if checksum_type == "FULL_OBJECT":
        assert done["ChecksumCRC32"] == whole == head["ChecksumCRC32"]
    else:
        raw = b"".join(base64.b64decode(p["ChecksumCRC32"]) for p in parts)
        composite = base64.b64encode(zlib.crc32(raw).to_bytes(4, "big")).decode() + "-2"
        assert done["ChecksumCRC32"] == composite == head["ChecksumCRC32"]
    assert head["ChecksumType"] == checksum_type


def test_download_survives_an_overwrite_midway(s3, bucket):
    p1, p2 = os.urandom(5 << 20), os.urandom(3 << 20)
    uid = s3.create_multipart_upload(Bucket=bucket, Key="big")["UploadId"]
    e1 = s3.upload_part(Bucket=bucket, Key="big", UploadId=uid, PartNumber=1, Body=p1)["ETag"]
    e2 = s3.upload_part(Bucket=bucket, Key="big", UploadId=uid, PartNumber=2, Body=p2)["ETag"]
    s3.complete_multipart_upload(Bucket=bucket, Key="big", UploadId=uid,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
    body = s3.get_object(Bucket=bucket, Key="big")["Body"]
    first = body.read(1 << 20)
    s3.put_object(Bucket=bucket, Key="big", Body=b"replaced")  # frees the parts' blobs
    assert first + body.read() == p1 + p2
    assert s3.get_object(Bucket=bucket, Key="big")["Body"].read() == b"replaced"


# -- regressions from review ---------------------------------------------------------------------

def test_full_reads_are_200_and_ranged_reads_206(s3, bucket):
    s3.put_object(Bucket=bucket, Key="empty", Body=b"")
    whole = s3.get_object(Bucket=bucket, Key="empty")
    assert whole["ResponseMetadata"]["HTTPStatusCode"] == 200 and "ContentRange" not in whole
    assert "ContentRange" not in s3.head_object(Bucket=bucket, Key="empty")
    s3.put_object(Bucket=bucket, Key="ten", Body=b"0123456789")
    everything = s3.get_object(Bucket=bucket, Key="ten", Range="bytes=0-")
    assert everything["ResponseMetadata"]["HTTPStatusCode"] == 206 and everything["ContentRange"] == "bytes 0-9/10"


def test_absurd_part_numbers_are_client_errors(nubo, s3, bucket):
    s3.put_object(Bucket=bucket, Key="p", Body=b"x")
    for n in ["-2147483648", "0", "99"]:
        status, _, body = nubo.http("GET", f"/{bucket}/p?partNumber={n}")
        assert 400 <= status < 500, (n, status, body)


def test_copy_source_if_modified_since_fails_the_copy(s3, bucket):
    import datetime
    s3.put_object(Bucket=bucket, Key="src", Body=b"x")
    future = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="dst", CopySource=f"{bucket}/src", CopySourceIfModifiedSince=future)
    assert code(e) == ("PreconditionFailed", 412)


def test_tags_of_versions_stay_put(s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    old = s3.put_object(Bucket=bucket, Key="k", Body=b"old")["VersionId"]
    s3.put_object(Bucket=bucket, Key="k", Body=b"new")
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging={"TagSet": [{"Key": "current", "Value": "yes"}]})
    s3.put_object_tagging(Bucket=bucket, Key="k", VersionId=old, Tagging={"TagSet": [{"Key": "old", "Value": "yes"}]})
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == [{"Key": "current", "Value": "yes"}]
    assert s3.get_object_tagging(Bucket=bucket, Key="k", VersionId=old)["TagSet"] == [{"Key": "old", "Value": "yes"}]
    s3.delete_object(Bucket=bucket, Key="k", VersionId=old)  # a noncurrent version
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == [{"Key": "current", "Value": "yes"}]


def test_version_listing_pages_through_common_prefixes(s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for k in ["a/1", "a/2", "b/1", "c"]:
        s3.put_object(Bucket=bucket, Key=k, Body=b"x")
    items = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Delimiter="/", PaginationConfig={"PageSize": 1}):
        items += [p["Prefix"] for p in page.get("CommonPrefixes", [])] + [v["Key"] for v in page.get("Versions", [])]
    assert items == ["a/", "b/", "c"]


def test_versions_stay_ordered_across_a_clock_jump_and_restart(tmp_path, client_config):
    import boto3

    from conftest import Nubo

    def client(n):
        return boto3.client("s3", endpoint_url=n.endpoint, region_name="us-east-1", aws_access_key_id="test",
                            aws_secret_access_key="test", config=client_config)

    n = Nubo(data_dir=str(tmp_path))
    c = client(n)
    c.create_bucket(Bucket="ordered")
    c.put_bucket_versioning(Bucket="ordered", VersioningConfiguration={"Status": "Enabled"})
    n.http("POST", "/_nubo/clock", b'{"advance": "2d"}')
    first = c.put_object(Bucket="ordered", Key="k", Body=b"first")["VersionId"]
    n.stop()
    n = Nubo(data_dir=str(tmp_path))  # the clock starts again from the wall clock: earlier
    try:
        c = client(n)
        second = c.put_object(Bucket="ordered", Key="k", Body=b"second")["VersionId"]
        versions = c.list_object_versions(Bucket="ordered")["Versions"]
        assert [(v["VersionId"], v["IsLatest"]) for v in versions] == [(second, True), (first, False)]
        assert c.get_object(Bucket="ordered", Key="k")["Body"].read() == b"second"
    finally:
        n.stop()


def test_orphaned_blobs_are_reclaimed_at_start(tmp_path, client_config):
    import boto3

    from conftest import Nubo

    n = Nubo(data_dir=str(tmp_path))
    c = boto3.client("s3", endpoint_url=n.endpoint, region_name="us-east-1", aws_access_key_id="test",
                     aws_secret_access_key="test", config=client_config)
    c.create_bucket(Bucket="gc-test")
    c.put_object(Bucket="gc-test", Key="kept", Body=b"live data")
    n.stop()
    # What a crash between writing a blob and recording it leaves behind.
    orphan = tmp_path / "blobs" / "data" / "zz" / "zz-orphan"
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"nobody refers to me")
    n = Nubo(data_dir=str(tmp_path))
    try:
        c = boto3.client("s3", endpoint_url=n.endpoint, region_name="us-east-1", aws_access_key_id="test",
                         aws_secret_access_key="test", config=client_config)
        deadline = time.monotonic() + 10
        while orphan.exists() and time.monotonic() < deadline:
            time.sleep(0.02)  # the start-up collection runs in the background
        assert not orphan.exists()
        assert c.get_object(Bucket="gc-test", Key="kept")["Body"].read() == b"live data"
    finally:
        n.stop()
