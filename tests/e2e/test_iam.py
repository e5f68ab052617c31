"""IAM and STS through boto3 and the AWS CLI: entities, policies, keys, MFA, reports."""

import base64
import hashlib
import hmac
import json
import struct
import time
import uuid

import pytest
from botocore.exceptions import ClientError

TRUST_ACCOUNT = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:root"}, "Action": "sts:AssumeRole"}],
}
S3_READ = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"}],
}


def name(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def code(e):
    return e.value.response["Error"]["Code"], e.value.response["ResponseMetadata"]["HTTPStatusCode"]


def totp(seed_b32: str, step: int) -> str:
    seed = base64.b32decode(seed_b32 + "=" * (-len(seed_b32) % 8))
    h = hmac.new(seed, struct.pack(">Q", step), hashlib.sha1).digest()
    o = h[19] & 15
    return "%06d" % ((struct.unpack(">I", h[o:o + 4])[0] & 0x7FFFFFFF) % 1_000_000)


def test_user_lifecycle_with_groups_policies_and_keys(boto):
    iam = boto("iam")
    user, group = name("user"), name("group")
    created = iam.create_user(UserName=user, Path="/eng/", Tags=[{"Key": "team", "Value": "a"}])["User"]
    assert created["Arn"] == f"arn:aws:iam::000000000000:user/eng/{user}"
    assert created["UserId"].startswith("AIDA") and len(created["UserId"]) == 21
    with pytest.raises(ClientError) as e:
        iam.create_user(UserName=user.upper())  # names are unique regardless of case
    assert code(e) == ("EntityAlreadyExists", 409)

    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=user)
    assert [u["UserName"] for u in iam.get_group(GroupName=group)["Users"]] == [user]
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName=user)["Groups"]] == [group]

    iam.put_user_policy(UserName=user, PolicyName="read", PolicyDocument=json.dumps(S3_READ))
    # boto3 decodes the URL-encoded document IAM returns into a dict.
    assert iam.get_user_policy(UserName=user, PolicyName="read")["PolicyDocument"] == S3_READ
    iam.attach_user_policy(UserName=user, PolicyArn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
    attached = iam.list_attached_user_policies(UserName=user)["AttachedPolicies"]
    assert attached == [{"PolicyName": "AmazonS3ReadOnlyAccess", "PolicyArn": "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"}]

    key = iam.create_access_key(UserName=user)["AccessKey"]
    assert key["AccessKeyId"].startswith("AKIA") and len(key["AccessKeyId"]) == 20 and len(key["SecretAccessKey"]) == 40
    iam.create_access_key(UserName=user)
    with pytest.raises(ClientError) as e:
        iam.create_access_key(UserName=user)
    assert code(e) == ("LimitExceeded", 409)
    iam.update_access_key(UserName=user, AccessKeyId=key["AccessKeyId"], Status="Inactive")
    statuses = {k["AccessKeyId"]: k["Status"] for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]}
    assert statuses[key["AccessKeyId"]] == "Inactive"

    with pytest.raises(ClientError) as e:
        iam.delete_user(UserName=user)
    assert code(e) == ("DeleteConflict", 409)
    for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]:
        iam.delete_access_key(UserName=user, AccessKeyId=k["AccessKeyId"])
    iam.delete_user_policy(UserName=user, PolicyName="read")
    iam.detach_user_policy(UserName=user, PolicyArn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
    iam.remove_user_from_group(GroupName=group, UserName=user)
    iam.delete_user(UserName=user)
    with pytest.raises(ClientError) as e:
        iam.get_user(UserName=user)
    assert code(e) == ("NoSuchEntity", 404)


def test_malformed_policies_are_refused(boto):
    iam = boto("iam")
    user = name("user")
    iam.create_user(UserName=user)
    with pytest.raises(ClientError) as e:
        iam.put_user_policy(UserName=user, PolicyName="bad", PolicyDocument="{not json")
    assert code(e) == ("MalformedPolicyDocument", 400)
    with_principal = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}]}
    with pytest.raises(ClientError) as e:
        iam.create_policy(PolicyName=name("p"), PolicyDocument=json.dumps(with_principal))
    assert code(e) == ("MalformedPolicyDocument", 400)
    no_version = {"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    with pytest.raises(ClientError) as e:
        iam.create_policy(PolicyName=name("p"), PolicyDocument=json.dumps(no_version))
    assert code(e) == ("MalformedPolicyDocument", 400)
    assert "version 2012-10-17" in e.value.response["Error"]["Message"]


def test_managed_policy_versions(boto):
    iam = boto("iam")
    arn = iam.create_policy(PolicyName=name("pol"), PolicyDocument=json.dumps(S3_READ))["Policy"]["Arn"]
    v2 = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]}
    assert iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(v2), SetAsDefault=True)["PolicyVersion"]["VersionId"] == "v2"
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v2"
    assert iam.get_policy_version(PolicyArn=arn, VersionId="v2")["PolicyVersion"]["Document"] == v2
    with pytest.raises(ClientError) as e:
        iam.delete_policy_version(PolicyArn=arn, VersionId="v2")
    assert code(e) == ("DeleteConflict", 409)
    for _ in range(3):
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(v2))
    with pytest.raises(ClientError) as e:
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(v2))
    assert code(e) == ("LimitExceeded", 409)
    iam.set_default_policy_version(PolicyArn=arn, VersionId="v1")
    assert [v["VersionId"] for v in iam.list_policy_versions(PolicyArn=arn)["Versions"] if v["IsDefaultVersion"]] == ["v1"]


def test_aws_managed_policies_carry_their_real_documents(boto):
    iam = boto("iam")
    p = iam.get_policy(PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")["Policy"]
    assert p["PolicyName"] == "AdministratorAccess" and p["DefaultVersionId"] == "v1"
    doc = iam.get_policy_version(PolicyArn=p["Arn"], VersionId="v1")["PolicyVersion"]["Document"]
    assert doc["Statement"][0]["Action"] == "*"
    names = {p["PolicyName"] for p in iam.list_policies(Scope="AWS", MaxItems=1000)["Policies"]}
    assert {"ReadOnlyAccess", "AmazonEC2ReadOnlyAccess", "AWSLambdaBasicExecutionRole", "AmazonDynamoDBFullAccess"} <= names


def test_roles_and_instance_profiles(boto):
    iam = boto("iam")
    role, profile = name("role"), name("profile")
    r = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(TRUST_ACCOUNT), Description="d")["Role"]
    assert r["Arn"].endswith(f":role/{role}") and r["RoleId"].startswith("AROA")
    assert iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"] == TRUST_ACCOUNT
    iam.create_instance_profile(InstanceProfileName=profile)
    iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=role)
    got = iam.get_instance_profile(InstanceProfileName=profile)["InstanceProfile"]
    assert [x["RoleName"] for x in got["Roles"]] == [role]
    assert [p["InstanceProfileName"] for p in iam.list_instance_profiles_for_role(RoleName=role)["InstanceProfiles"]] == [profile]
    with pytest.raises(ClientError) as e:
        iam.delete_role(RoleName=role)
    assert code(e) == ("DeleteConflict", 409)


def test_password_policy_is_enforced_on_login_profiles(boto):
    iam = boto("iam")
    user = name("user")
    iam.create_user(UserName=user)
    iam.update_account_password_policy(MinimumPasswordLength=12, RequireNumbers=True, RequireSymbols=True, AllowUsersToChangePassword=True)
    try:
        with pytest.raises(ClientError) as e:
            iam.create_login_profile(UserName=user, Password="short")
        assert code(e) == ("PasswordPolicyViolation", 400)
        iam.create_login_profile(UserName=user, Password="long-enough-1!", PasswordResetRequired=True)
        assert iam.get_login_profile(UserName=user)["LoginProfile"]["PasswordResetRequired"] is True
        assert iam.get_account_password_policy()["PasswordPolicy"]["MinimumPasswordLength"] == 12
    finally:
        iam.delete_account_password_policy()


def test_virtual_mfa_device_takes_real_totp_codes(boto):
    iam = boto("iam")
    user = name("user")
    iam.create_user(UserName=user)
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=name("mfa"))["VirtualMFADevice"]
    seed = device["Base32StringSeed"].decode()
    step = int(time.time()) // 30
    with pytest.raises(ClientError) as e:
        iam.enable_mfa_device(UserName=user, SerialNumber=device["SerialNumber"], AuthenticationCode1="000000", AuthenticationCode2="000000")
    assert code(e) == ("InvalidAuthenticationCode", 403)
    iam.enable_mfa_device(UserName=user, SerialNumber=device["SerialNumber"], AuthenticationCode1=totp(seed, step - 1), AuthenticationCode2=totp(seed, step))
    assert [d["SerialNumber"] for d in iam.list_mfa_devices(UserName=user)["MFADevices"]] == [device["SerialNumber"]]
    assigned = iam.list_virtual_mfa_devices(AssignmentStatus="Assigned")["VirtualMFADevices"]
    assert any(d["SerialNumber"] == device["SerialNumber"] and d["User"]["UserName"] == user for d in assigned)
    iam.deactivate_mfa_device(UserName=user, SerialNumber=device["SerialNumber"])
    iam.delete_virtual_mfa_device(SerialNumber=device["SerialNumber"])


def test_credential_report_has_iams_columns(boto):
    iam = boto("iam")
    user = name("user")
    iam.create_user(UserName=user)
    iam.generate_credential_report()
    report = iam.get_credential_report()
    lines = report["Content"].decode().splitlines()
    assert lines[0].startswith("user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active")
    assert lines[1].startswith("<root_account>,arn:aws:iam::000000000000:root,")
    assert any(l.startswith(f"{user},arn:aws:iam::000000000000:user/{user},") for l in lines)
    assert report["ReportFormat"] == "text/csv"


def test_account_alias_summary_and_authorization_details(boto):
    iam = boto("iam")
    iam.create_account_alias(AccountAlias="nubo-dev")
    assert iam.list_account_aliases()["AccountAliases"] == ["nubo-dev"]
    iam.delete_account_alias(AccountAlias="nubo-dev")
    user = name("user")
    iam.create_user(UserName=user)
    summary = iam.get_account_summary()["SummaryMap"]
    assert summary["Users"] >= 1 and summary["UsersQuota"] == 5000
    details = iam.get_account_authorization_details(Filter=["User"])
    assert any(u["UserName"] == user for u in details["UserDetailList"])


def test_simulator_answers_from_the_engine(boto):
    iam = boto("iam")
    user = name("user")
    arn = iam.create_user(UserName=user)["User"]["Arn"]
    iam.attach_user_policy(UserName=user, PolicyArn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
    results = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=["s3:GetObject", "s3:PutObject"])["EvaluationResults"]
    assert {r["EvalActionName"]: r["EvalDecision"] for r in results} == {"s3:GetObject": "allowed", "s3:PutObject": "implicitDeny"}
    deny = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}
    custom = iam.simulate_custom_policy(PolicyInputList=[json.dumps(S3_READ), json.dumps(deny)], ActionNames=["s3:GetObject"])
    assert custom["EvaluationResults"][0]["EvalDecision"] == "explicitDeny"


def test_cli_manages_users(aws):
    user = name("cli")
    assert aws("iam", "create-user", "--user-name", user)["User"]["UserName"] == user
    assert user in [u["UserName"] for u in aws("iam", "list-users")["Users"]]
    aws("iam", "attach-user-policy", "--user-name", user, "--policy-arn", "arn:aws:iam::aws:policy/ReadOnlyAccess")
    assert aws("iam", "list-attached-user-policies", "--user-name", user)["AttachedPolicies"][0]["PolicyName"] == "ReadOnlyAccess"
    p = aws("iam", "get-user", "--user-name", "nobody-here", check=False)
    assert p.returncode != 0 and "NoSuchEntity" in p.stderr


def test_caller_identity_follows_the_key_without_enforcement(boto):
    iam = boto("iam")
    user = name("user")
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    sts = boto("sts", access_key=key["AccessKeyId"])
    ident = sts.get_caller_identity()
    assert ident["Arn"] == f"arn:aws:iam::000000000000:user/{user}"
    assert boto("sts").get_caller_identity()["Arn"] == "arn:aws:iam::000000000000:root"
