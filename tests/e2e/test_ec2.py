"""EC2's control plane through boto3 and the AWS CLI: zones, the default VPC, VPCs and
subnets, gateways and route tables, security groups, key pairs, images, instance types,
instances and their lifecycle on nubo's clock, tags and filters."""

import base64
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import Nubo

REGION = "us-east-1"


@pytest.fixture(scope="module")
def node():
    """A nubo of this module's own: the lifecycle tests move its clock."""
    n = Nubo()
    yield n
    n.stop()


@pytest.fixture
def ec2(node):
    return boto3.client("ec2", endpoint_url=node.endpoint, region_name=REGION, aws_access_key_id="test",
                        aws_secret_access_key="test", config=Config(retries={"max_attempts": 1}))


def advance(node, seconds):
    status, _, _ = node.http("POST", "/_nubo/clock", f'{{"advance": "{seconds}s"}}'.encode())
    assert status == 200


def err(e):
    return e.value.response["Error"]["Code"]


def al2023(ec2):
    images = ec2.describe_images(Owners=["amazon"], Filters=[{"Name": "name", "Values": ["al2023-ami-*-x86_64"]}])["Images"]
    assert images, "the catalogue has Amazon Linux 2023"
    return images[0]["ImageId"]


def test_regions_zones_and_account_attributes(ec2):
    regions = [r["RegionName"] for r in ec2.describe_regions()["Regions"]]
    assert {"us-east-1", "eu-west-1", "ap-southeast-2"} <= set(regions)
    zones = ec2.describe_availability_zones()["AvailabilityZones"]
    assert [z["ZoneName"] for z in zones][:3] == ["us-east-1a", "us-east-1b", "us-east-1c"]
    assert zones[0]["ZoneId"] == "use1-az1" and zones[0]["State"] == "available"
    attrs = {a["AttributeName"]: a["AttributeValues"][0]["AttributeValue"] for a in ec2.describe_account_attributes()["AccountAttributes"]}
    assert attrs["default-vpc"].startswith("vpc-") and attrs["supported-platforms"] == "VPC"


def test_every_account_starts_with_a_default_vpc(ec2):
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]
    assert vpc["CidrBlock"] == "172.31.0.0/16"
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]
    assert len(subnets) == 6 and all(s["DefaultForAz"] and s["MapPublicIpOnLaunch"] for s in subnets)
    assert all(4000 < s["AvailableIpAddressCount"] <= 4091 for s in subnets)  # a /20 less AWS's five
    groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}, {"Name": "group-name", "Values": ["default"]}])["SecurityGroups"]
    assert len(groups) == 1
    igws = ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc["VpcId"]]}])["InternetGateways"]
    assert len(igws) == 1
    main = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}, {"Name": "association.main", "Values": ["true"]}])["RouteTables"][0]
    assert {r["DestinationCidrBlock"]: r["GatewayId"] for r in main["Routes"]} == {"172.31.0.0/16": "local", "0.0.0.0/0": igws[0]["InternetGatewayId"]}


def test_vpc_with_public_and_private_subnets_in_two_zones(ec2):
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": "app"}]}])["Vpc"]
    vpc_id = vpc["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
    assert ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute="enableDnsHostnames")["EnableDnsHostnames"]["Value"] is True
    subnets = {}
    for name, cidr, zone in [("public-a", "10.0.1.0/24", "us-east-1a"), ("public-b", "10.0.2.0/24", "us-east-1b"),
                             ("private-a", "10.0.11.0/24", "us-east-1a"), ("private-b", "10.0.12.0/24", "us-east-1b")]:
        subnets[name] = ec2.create_subnet(VpcId=vpc_id, CidrBlock=cidr, AvailabilityZone=zone)["Subnet"]["SubnetId"]
    with pytest.raises(ClientError) as e:
        ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.0.1.128/25")
    assert err(e) == "InvalidSubnet.Conflict"
    with pytest.raises(ClientError) as e:
        ec2.create_subnet(VpcId=vpc_id, CidrBlock="192.168.0.0/24")
    assert err(e) == "InvalidSubnet.Range"
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_id)
    rt = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=rt, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    for name in ("public-a", "public-b"):
        ec2.associate_route_table(RouteTableId=rt, SubnetId=subnets[name])
        ec2.modify_subnet_attribute(SubnetId=subnets[name], MapPublicIpOnLaunch={"Value": True})
    table = ec2.describe_route_tables(RouteTableIds=[rt])["RouteTables"][0]
    assert sorted(a["SubnetId"] for a in table["Associations"]) == sorted([subnets["public-a"], subnets["public-b"]])
    with pytest.raises(ClientError) as e:
        ec2.delete_vpc(VpcId=vpc_id)
    assert err(e) == "DependencyViolation"
    with pytest.raises(ClientError) as e:
        ec2.create_vpc(CidrBlock="10.0.0.0/8")
    assert err(e) == "InvalidVpc.Range"
    with pytest.raises(ClientError) as e:
        ec2.create_vpc(CidrBlock="not-a-cidr")
    assert err(e) == "InvalidParameterValue"
    for rt_assoc in ec2.describe_route_tables(RouteTableIds=[rt])["RouteTables"][0]["Associations"]:
        ec2.disassociate_route_table(AssociationId=rt_assoc["RouteTableAssociationId"])
    ec2.delete_route_table(RouteTableId=rt)
    ec2.detach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_id)
    ec2.delete_internet_gateway(InternetGatewayId=igw)
    for sid in subnets.values():
        ec2.delete_subnet(SubnetId=sid)
    ec2.delete_vpc(VpcId=vpc_id)


def test_security_groups_and_their_rules(ec2):
    name = f"web-{uuid.uuid4().hex[:6]}"
    sg = ec2.create_security_group(GroupName=name, Description="web tier")["GroupId"]
    with pytest.raises(ClientError) as e:
        ec2.create_security_group(GroupName=name, Description="again")
    assert err(e) == "InvalidGroup.Duplicate"
    ssh = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "203.0.113.7/32", "Description": "my laptop"}]}
    http = {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}
    added = ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[ssh, http])["SecurityGroupRules"]
    assert len(added) == 3 and all(r["SecurityGroupRuleId"].startswith("sgr-") for r in added)
    with pytest.raises(ClientError) as e:
        ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[ssh])
    assert err(e) == "InvalidPermission.Duplicate"
    group = ec2.describe_security_groups(GroupIds=[sg])["SecurityGroups"][0]
    ports = sorted((p["FromPort"], p["IpProtocol"]) for p in group["IpPermissions"])
    assert ports == [(22, "tcp"), (80, "tcp")]
    assert group["IpPermissionsEgress"][0]["IpProtocol"] == "-1"
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [sg]}])["SecurityGroupRules"]
    assert len([r for r in rules if not r["IsEgress"]]) == 3
    ec2.revoke_security_group_ingress(GroupId=sg, IpPermissions=[ssh])
    with pytest.raises(ClientError) as e:
        ec2.revoke_security_group_ingress(GroupId=sg, IpPermissions=[ssh])
    assert err(e) == "InvalidPermission.NotFound"
    ec2.delete_security_group(GroupId=sg)
    with pytest.raises(ClientError) as e:
        ec2.describe_security_groups(GroupIds=[sg])
    assert err(e) == "InvalidGroup.NotFound"


def test_key_pairs_created_and_imported(ec2):
    name = f"key-{uuid.uuid4().hex[:6]}"
    kp = ec2.create_key_pair(KeyName=name)
    assert kp["KeyMaterial"].startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert len(kp["KeyFingerprint"].split(":")) == 20
    with pytest.raises(ClientError) as e:
        ec2.create_key_pair(KeyName=name)
    assert err(e) == "InvalidKeyPair.Duplicate"
    from cryptography.hazmat.primitives import serialization
    private = serialization.load_pem_private_key(kp["KeyMaterial"].encode(), password=None)
    public = private.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    imported = ec2.import_key_pair(KeyName=f"{name}-imported", PublicKeyMaterial=public)
    assert len(imported["KeyFingerprint"].split(":")) == 16
    described = ec2.describe_key_pairs(KeyNames=[name], IncludePublicKey=True)["KeyPairs"][0]
    assert described["PublicKey"].split()[:2] == public.decode().split()[:2]
    ec2.delete_key_pair(KeyName=name)
    with pytest.raises(ClientError) as e:
        ec2.describe_key_pairs(KeyNames=[name])
    assert err(e) == "InvalidKeyPair.NotFound"


def test_images_and_instance_types(ec2):
    ubuntu = ec2.describe_images(Owners=["099720109477"], Filters=[{"Name": "name", "Values": ["ubuntu/images/*noble*"]}])["Images"]
    assert len(ubuntu) == 1 and ubuntu[0]["Architecture"] == "x86_64"
    with pytest.raises(ClientError) as e:
        ec2.describe_images(ImageIds=["ami-0000000000000dead"])
    assert err(e) == "InvalidAMIID.NotFound"
    t = ec2.describe_instance_types(InstanceTypes=["t2.micro", "m5.large"])["InstanceTypes"]
    sizes = {x["InstanceType"]: (x["VCpuInfo"]["DefaultVCpus"], x["MemoryInfo"]["SizeInMiB"]) for x in t}
    assert sizes == {"t2.micro": (1, 1024), "m5.large": (2, 8192)}


def test_instance_lifecycle_on_the_clock(ec2, node):
    key = f"key-{uuid.uuid4().hex[:6]}"
    ec2.create_key_pair(KeyName=key)
    sg = ec2.create_security_group(GroupName=f"ssh-{uuid.uuid4().hex[:6]}", Description="ssh and web")["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "198.51.100.10/32"}]},
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "198.51.100.10/32"}]}])
    user_data = "#!/bin/bash\necho hello > /var/www/html/index.html\n"
    res = ec2.run_instances(ImageId=al2023(ec2), InstanceType="t2.micro", MinCount=2, MaxCount=2, KeyName=key,
                            SecurityGroupIds=[sg], UserData=user_data,
                            TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "web"}]}])
    ids = [i["InstanceId"] for i in res["Instances"]]
    first = res["Instances"][0]
    assert first["State"] == {"Code": 0, "Name": "pending"}
    assert first["PrivateIpAddress"].startswith("172.31.") and first["PrivateDnsName"].endswith(".ec2.internal")
    assert first["PublicIpAddress"] and first["SecurityGroups"][0]["GroupId"] == sg
    assert len(set(i["PrivateIpAddress"] for i in res["Instances"])) == 2
    advance(node, 6)
    reservations = ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": ["web"]}, {"Name": "instance-id", "Values": ids}])["Reservations"]
    assert [i["State"]["Name"] for r in reservations for i in r["Instances"]] == ["running", "running"]
    statuses = ec2.describe_instance_status(InstanceIds=ids)["InstanceStatuses"]
    assert {s["InstanceStatus"]["Status"] for s in statuses} == {"ok"}

    stopping = ec2.stop_instances(InstanceIds=[ids[0]])["StoppingInstances"][0]
    assert (stopping["PreviousState"]["Name"], stopping["CurrentState"]["Name"]) == ("running", "stopping")
    with pytest.raises(ClientError) as e:
        ec2.start_instances(InstanceIds=[ids[0]])
    assert err(e) == "IncorrectInstanceState"
    advance(node, 6)
    stopped = ec2.describe_instances(InstanceIds=[ids[0]])["Reservations"][0]["Instances"][0]
    assert stopped["State"]["Name"] == "stopped" and "PublicIpAddress" not in stopped
    assert stopped["StateReason"]["Code"] == "Client.UserInitiatedShutdown"
    ec2.start_instances(InstanceIds=[ids[0]])
    advance(node, 6)
    ec2.get_waiter("instance_running").wait(InstanceIds=ids, WaiterConfig={"Delay": 1, "MaxAttempts": 3})

    ec2.terminate_instances(InstanceIds=ids)
    advance(node, 6)
    states = {i["State"]["Name"] for r in ec2.describe_instances(InstanceIds=ids)["Reservations"] for i in r["Instances"]}
    assert states == {"terminated"}
    with pytest.raises(ClientError) as e:
        ec2.start_instances(InstanceIds=[ids[0]])
    assert err(e) == "IncorrectInstanceState"
    advance(node, 3700)
    assert ec2.describe_instances(Filters=[{"Name": "instance-id", "Values": ids}])["Reservations"] == []


def test_instance_errors(ec2):
    with pytest.raises(ClientError) as e:
        ec2.describe_instances(InstanceIds=["i-0123456789abcdef0"])
    assert err(e) == "InvalidInstanceID.NotFound"
    with pytest.raises(ClientError) as e:
        ec2.describe_instances(InstanceIds=["bogus"])
    assert err(e) == "InvalidInstanceID.Malformed"
    with pytest.raises(ClientError) as e:
        ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1, InstanceType="t2.micro")
    assert err(e) == "InvalidAMIID.NotFound"
    with pytest.raises(ClientError) as e:
        ec2.run_instances(ImageId=al2023(ec2), MinCount=1, MaxCount=1, InstanceType="t2.gigantic")
    assert err(e) == "InvalidParameterValue"
    with pytest.raises(ClientError) as e:
        ec2.run_instances(ImageId=al2023(ec2), MinCount=1, MaxCount=1, InstanceType="t2.micro", KeyName="no-such-key")
    assert err(e) == "InvalidKeyPair.NotFound"
    with pytest.raises(ClientError) as e:
        ec2.run_instances(ImageId=al2023(ec2), MinCount=65, MaxCount=65, InstanceType="t2.micro")
    assert err(e) == "InstanceLimitExceeded"
    with pytest.raises(ClientError) as e:
        ec2.run_instances(ImageId=al2023(ec2), MinCount=1, MaxCount=1, InstanceType="t2.micro", DryRun=True)
    assert err(e) == "DryRunOperation"


def test_tags_on_any_resource(ec2):
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    ec2.create_tags(Resources=[vpc], Tags=[{"Key": "env", "Value": "dev"}, {"Key": "team", "Value": "a"}])
    tags = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [vpc]}])["Tags"]
    assert {(t["Key"], t["Value"], t["ResourceType"]) for t in tags} == {("env", "dev", "vpc"), ("team", "a", "vpc")}
    assert [v["VpcId"] for v in ec2.describe_vpcs(Filters=[{"Name": "tag:env", "Values": ["dev"]}])["Vpcs"]] == [vpc]
    ec2.delete_tags(Resources=[vpc], Tags=[{"Key": "team"}])
    assert [t["Key"] for t in ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [vpc]}])["Tags"]] == ["env"]
    with pytest.raises(ClientError) as e:
        ec2.create_tags(Resources=["vpc-0000000000000dead"], Tags=[{"Key": "a", "Value": "b"}])
    assert err(e) == "InvalidVpcID.NotFound"
    ec2.delete_vpc(VpcId=vpc)


def test_cli_launches_an_instance(node, ec2):
    cli = shutil.which("aws", path=str(Path(sys.executable).parent)) or shutil.which("aws")
    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION=REGION, AWS_MAX_ATTEMPTS="1")

    def run(*args):
        p = subprocess.run([cli, "--endpoint-url", node.endpoint, "--output", "json", *args], capture_output=True, text=True, env=env, timeout=60)
        assert p.returncode == 0, p.stderr
        import json
        return json.loads(p.stdout) if p.stdout.strip() else None

    out = run("ec2", "run-instances", "--image-id", al2023(ec2), "--instance-type", "t3.micro", "--count", "1",
              "--tag-specifications", "ResourceType=instance,Tags=[{Key=Name,Value=cli}]")
    iid = out["Instances"][0]["InstanceId"]
    described = run("ec2", "describe-instances", "--filters", "Name=tag:Name,Values=cli")
    assert described["Reservations"][0]["Instances"][0]["InstanceId"] == iid
    run("ec2", "terminate-instances", "--instance-ids", iid)


def test_elastic_ips_and_their_limit(ec2, node):
    allocations = [ec2.allocate_address(Domain="vpc") for _ in range(5)]
    assert all(a["AllocationId"].startswith("eipalloc-") for a in allocations)
    with pytest.raises(ClientError) as e:
        ec2.allocate_address(Domain="vpc")
    assert err(e) == "AddressLimitExceeded"
    iid = ec2.run_instances(ImageId=al2023(ec2), InstanceType="t2.micro", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    eip = allocations[0]
    assoc = ec2.associate_address(AllocationId=eip["AllocationId"], InstanceId=iid)["AssociationId"]
    inst = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    assert inst["PublicIpAddress"] == eip["PublicIp"]
    described = ec2.describe_addresses(AllocationIds=[eip["AllocationId"]])["Addresses"][0]
    assert (described["InstanceId"], described["AssociationId"]) == (iid, assoc)
    with pytest.raises(ClientError) as e:
        ec2.release_address(AllocationId=eip["AllocationId"])
    assert err(e) == "InvalidIPAddress.InUse"
    ec2.disassociate_address(AssociationId=assoc)
    for a in allocations:
        ec2.release_address(AllocationId=a["AllocationId"])
    assert ec2.describe_addresses()["Addresses"] == []
    ec2.terminate_instances(InstanceIds=[iid])


def test_nat_gateway_with_an_elastic_ip_for_a_private_subnet(ec2, node):
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    public = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.1.0/24", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
    private = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.11.0/24", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
    eip = ec2.allocate_address(Domain="vpc")
    nat = ec2.create_nat_gateway(SubnetId=public, AllocationId=eip["AllocationId"])["NatGateway"]
    assert nat["State"] == "pending" and nat["NatGatewayAddresses"][0]["PublicIp"] == eip["PublicIp"]
    advance(node, 6)
    ec2.get_waiter("nat_gateway_available").wait(NatGatewayIds=[nat["NatGatewayId"]], WaiterConfig={"Delay": 1, "MaxAttempts": 2})
    rt = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=rt, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat["NatGatewayId"])
    ec2.associate_route_table(RouteTableId=rt, SubnetId=private)
    routes = ec2.describe_route_tables(RouteTableIds=[rt])["RouteTables"][0]["Routes"]
    assert any(r.get("NatGatewayId") == nat["NatGatewayId"] for r in routes)
    ec2.delete_nat_gateway(NatGatewayId=nat["NatGatewayId"])
    advance(node, 6)
    assert ec2.describe_nat_gateways(NatGatewayIds=[nat["NatGatewayId"]])["NatGateways"][0]["State"] == "deleted"
    ec2.release_address(AllocationId=eip["AllocationId"])


def test_launch_templates_and_versions(ec2, node):
    name = f"web-{uuid.uuid4().hex[:6]}"
    sg = ec2.create_security_group(GroupName=name, Description="lt")["GroupId"]
    user_data = base64.b64encode(b"#!/bin/bash\necho hi\n").decode()
    lt = ec2.create_launch_template(LaunchTemplateName=name, LaunchTemplateData={
        "ImageId": al2023(ec2), "InstanceType": "t2.micro", "SecurityGroupIds": [sg], "UserData": user_data,
        "TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "from-template"}]}]})["LaunchTemplate"]
    assert (lt["DefaultVersionNumber"], lt["LatestVersionNumber"]) == (1, 1)
    with pytest.raises(ClientError) as e:
        ec2.create_launch_template(LaunchTemplateName=name, LaunchTemplateData={"ImageId": al2023(ec2)})
    assert err(e) == "InvalidLaunchTemplateName.AlreadyExistsException"
    v2 = ec2.create_launch_template_version(LaunchTemplateId=lt["LaunchTemplateId"], SourceVersion="1", LaunchTemplateData={"InstanceType": "t3.micro"})
    assert v2["LaunchTemplateVersion"]["VersionNumber"] == 2
    assert v2["LaunchTemplateVersion"]["LaunchTemplateData"]["ImageId"] == al2023(ec2)
    ec2.modify_launch_template(LaunchTemplateId=lt["LaunchTemplateId"], DefaultVersion="2")
    versions = ec2.describe_launch_template_versions(LaunchTemplateId=lt["LaunchTemplateId"])["LaunchTemplateVersions"]
    assert [(v["VersionNumber"], v["DefaultVersion"]) for v in versions] == [(2, True), (1, False)]
    inst = ec2.run_instances(MinCount=1, MaxCount=1, LaunchTemplate={"LaunchTemplateName": name, "Version": "$Default"})["Instances"][0]
    assert inst["InstanceType"] == "t3.micro" and inst["SecurityGroups"][0]["GroupId"] == sg
    assert {"Key": "Name", "Value": "from-template"} in inst["Tags"]
    first = ec2.run_instances(MinCount=1, MaxCount=1, InstanceType="t2.small", LaunchTemplate={"LaunchTemplateId": lt["LaunchTemplateId"], "Version": "1"})["Instances"][0]
    assert first["InstanceType"] == "t2.small"
    ids = [inst["InstanceId"], first["InstanceId"]]
    ec2.terminate_instances(InstanceIds=ids)
    ec2.delete_launch_template(LaunchTemplateName=name)
    with pytest.raises(ClientError) as e:
        ec2.describe_launch_templates(LaunchTemplateNames=[name])
    assert err(e) == "InvalidLaunchTemplateName.NotFoundException"


def test_instance_attributes_change_while_stopped(ec2, node):
    iid = ec2.run_instances(ImageId=al2023(ec2), InstanceType="t2.micro", MinCount=1, MaxCount=1, DisableApiTermination=True)["Instances"][0]["InstanceId"]
    advance(node, 6)
    with pytest.raises(ClientError) as e:
        ec2.terminate_instances(InstanceIds=[iid])
    assert err(e) == "OperationNotPermitted"
    with pytest.raises(ClientError) as e:
        ec2.modify_instance_attribute(InstanceId=iid, InstanceType={"Value": "t3.large"})
    assert err(e) == "IncorrectInstanceState"
    ec2.stop_instances(InstanceIds=[iid])
    advance(node, 6)
    ec2.modify_instance_attribute(InstanceId=iid, InstanceType={"Value": "t3.large"})
    ec2.modify_instance_attribute(InstanceId=iid, UserData={"Value": b"#!/bin/bash\necho new\n"})
    assert ec2.describe_instance_attribute(InstanceId=iid, Attribute="instanceType")["InstanceType"]["Value"] == "t3.large"
    ud = ec2.describe_instance_attribute(InstanceId=iid, Attribute="userData")["UserData"]["Value"]
    assert base64.b64decode(ud) == b"#!/bin/bash\necho new\n"
    ec2.modify_instance_attribute(InstanceId=iid, DisableApiTermination={"Value": False})
    ec2.terminate_instances(InstanceIds=[iid])


def test_volumes_root_and_attached(ec2, node):
    inst = ec2.run_instances(ImageId=al2023(ec2), InstanceType="t2.micro", MinCount=1, MaxCount=1, Placement={"AvailabilityZone": "us-east-1b"})["Instances"][0]
    iid = inst["InstanceId"]
    root = ec2.describe_volumes(Filters=[{"Name": "attachment.instance-id", "Values": [iid]}])["Volumes"]
    assert len(root) == 1 and root[0]["Attachments"][0]["DeleteOnTermination"] is True and root[0]["Size"] == 8
    vol = ec2.create_volume(AvailabilityZone="us-east-1b", Size=20, VolumeType="gp3")
    assert vol["State"] == "available" and vol["Iops"] == 3000
    other_zone = ec2.create_volume(AvailabilityZone="us-east-1a", Size=1)["VolumeId"]
    with pytest.raises(ClientError) as e:
        ec2.attach_volume(VolumeId=other_zone, InstanceId=iid, Device="/dev/sdf")
    assert err(e) == "InvalidParameterValue"
    ec2.attach_volume(VolumeId=vol["VolumeId"], InstanceId=iid, Device="/dev/sdf")
    with pytest.raises(ClientError) as e:
        ec2.delete_volume(VolumeId=vol["VolumeId"])
    assert err(e) == "VolumeInUse"
    ec2.detach_volume(VolumeId=vol["VolumeId"])
    ec2.delete_volume(VolumeId=vol["VolumeId"])
    ec2.delete_volume(VolumeId=other_zone)
    with pytest.raises(ClientError) as e:
        ec2.describe_volumes(VolumeIds=[vol["VolumeId"]])
    assert err(e) == "InvalidVolume.NotFound"
    enis = ec2.describe_network_interfaces(Filters=[{"Name": "attachment.instance-id", "Values": [iid]}])["NetworkInterfaces"]
    assert enis[0]["PrivateIpAddress"] == inst["PrivateIpAddress"]
    ec2.terminate_instances(InstanceIds=[iid])
    assert ec2.describe_volumes(Filters=[{"Name": "volume-id", "Values": [root[0]["VolumeId"]]}])["Volumes"] == []


def test_every_vpc_has_a_default_network_acl(ec2):
    vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.30.1.0/24")["Subnet"]["SubnetId"]
    acl = ec2.describe_network_acls(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["NetworkAcls"][0]
    assert acl["IsDefault"] and [a["SubnetId"] for a in acl["Associations"]] == [subnet]
    assert {(e["RuleNumber"], e["RuleAction"], e["Egress"]) for e in acl["Entries"]} == {(100, "allow", True), (32767, "deny", True), (100, "allow", False), (32767, "deny", False)}
    ec2.delete_subnet(SubnetId=subnet)
    ec2.delete_vpc(VpcId=vpc)


def test_dry_run_changes_nothing(ec2):
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    with pytest.raises(ClientError) as e:
        ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc, DryRun=True)
    assert err(e) == "DryRunOperation"
    assert ec2.describe_internet_gateways(InternetGatewayIds=[igw])["InternetGateways"][0]["Attachments"] == []
    ec2.delete_internet_gateway(InternetGatewayId=igw)


def test_elastic_ip_follows_its_instance_through_stop_and_terminate(ec2, node):
    iid = ec2.run_instances(ImageId=al2023(ec2), InstanceType="t2.micro", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    eip = ec2.allocate_address(Domain="vpc")
    ec2.associate_address(AllocationId=eip["AllocationId"], InstanceId=iid)
    advance(node, 6)
    ec2.stop_instances(InstanceIds=[iid])
    advance(node, 6)
    stopped = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    assert stopped["PublicIpAddress"] == eip["PublicIp"]
    ec2.start_instances(InstanceIds=[iid])
    assert ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["PublicIpAddress"] == eip["PublicIp"]
    ec2.terminate_instances(InstanceIds=[iid])
    assert "AssociationId" not in ec2.describe_addresses(AllocationIds=[eip["AllocationId"]])["Addresses"][0]
    ec2.release_address(AllocationId=eip["AllocationId"])


def test_client_token_makes_run_instances_idempotent(ec2):
    token = uuid.uuid4().hex
    first = ec2.run_instances(ImageId=al2023(ec2), InstanceType="t2.micro", MinCount=1, MaxCount=1, ClientToken=token)
    again = ec2.run_instances(ImageId=al2023(ec2), InstanceType="t2.micro", MinCount=1, MaxCount=1, ClientToken=token)
    assert again["ReservationId"] == first["ReservationId"]
    assert [i["InstanceId"] for i in again["Instances"]] == [i["InstanceId"] for i in first["Instances"]]
    ec2.terminate_instances(InstanceIds=[first["Instances"][0]["InstanceId"]])


def test_a_subnet_with_a_nat_gateway_cannot_be_deleted(ec2):
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.40.1.0/24")["Subnet"]["SubnetId"]
    nat = ec2.create_nat_gateway(SubnetId=subnet, ConnectivityType="private")["NatGateway"]["NatGatewayId"]
    with pytest.raises(ClientError) as e:
        ec2.delete_subnet(SubnetId=subnet)
    assert err(e) == "DependencyViolation"
    ec2.delete_nat_gateway(NatGatewayId=nat)
    ec2.delete_subnet(SubnetId=subnet)
    ec2.delete_vpc(VpcId=vpc)


def test_block_device_mappings_size_the_root_and_add_volumes(ec2):
    inst = ec2.run_instances(ImageId=al2023(ec2), InstanceType="t2.micro", MinCount=1, MaxCount=1, BlockDeviceMappings=[
        {"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 20, "VolumeType": "gp3"}},
        {"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 5, "DeleteOnTermination": False}}])["Instances"][0]
    devices = {m["DeviceName"]: m["Ebs"]["VolumeId"] for m in inst["BlockDeviceMappings"]}
    assert set(devices) == {"/dev/xvda", "/dev/sdf"}
    sizes = {v["VolumeId"]: v["Size"] for v in ec2.describe_volumes(VolumeIds=list(devices.values()))["Volumes"]}
    assert (sizes[devices["/dev/xvda"]], sizes[devices["/dev/sdf"]]) == (20, 5)
    ec2.terminate_instances(InstanceIds=[inst["InstanceId"]])
    left = ec2.describe_volumes(Filters=[{"Name": "volume-id", "Values": list(devices.values())}])["Volumes"]
    assert [(v["VolumeId"], v["State"]) for v in left] == [(devices["/dev/sdf"], "available")]
    ec2.delete_volume(VolumeId=devices["/dev/sdf"])


def test_images_from_instances_snapshots_and_sharing(ec2, node):
    base = al2023(ec2)
    iid = ec2.run_instances(ImageId=base, InstanceType="t3.micro", MinCount=1, MaxCount=1,
                            BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 12}},
                                                 {"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 4}}])["Instances"][0]["InstanceId"]
    advance(node, 10)
    name = f"web-{uuid.uuid4().hex[:6]}"
    image_id = ec2.create_image(InstanceId=iid, Name=name, Description="web server",
                                TagSpecifications=[{"ResourceType": "image", "Tags": [{"Key": "app", "Value": "web"}]}])["ImageId"]
    image = ec2.describe_images(ImageIds=[image_id])["Images"][0]
    assert image["State"] == "pending" and image["Name"] == name and image["Tags"] == [{"Key": "app", "Value": "web"}]
    with pytest.raises(ClientError) as e:
        ec2.create_image(InstanceId=iid, Name=name)
    assert err(e) == "InvalidAMIName.Duplicate"
    with pytest.raises(ClientError) as e:
        ec2.create_image(InstanceId=iid, Name="no*stars!")
    assert err(e) == "InvalidAMIName.Malformed"
    advance(node, 10)
    image = ec2.describe_images(Owners=["self"])["Images"]
    assert [i["ImageId"] for i in image] == [image_id] and image[0]["State"] == "available"
    mappings = {m["DeviceName"]: m["Ebs"] for m in image[0]["BlockDeviceMappings"]}
    assert mappings["/dev/xvda"]["VolumeSize"] == 12 and mappings["/dev/sdf"]["VolumeSize"] == 4
    snapshot = mappings["/dev/xvda"]["SnapshotId"]
    snap = ec2.describe_snapshots(SnapshotIds=[snapshot])["Snapshots"][0]
    assert snap["State"] == "completed" and snap["VolumeSize"] == 12 and image_id in snap["Description"]
    with pytest.raises(ClientError) as e:
        ec2.delete_snapshot(SnapshotId=snapshot)
    assert err(e) == "InvalidSnapshot.InUse"
    # An instance launched from the new image gets its root volume from the image's snapshot.
    child = ec2.run_instances(ImageId=image_id, InstanceType="t3.micro", MinCount=1, MaxCount=1)["Instances"][0]
    root = ec2.describe_volumes(Filters=[{"Name": "attachment.instance-id", "Values": [child["InstanceId"]]}])["Volumes"][0]
    assert root["SnapshotId"] == snapshot and root["Size"] == 12 and child["ImageId"] == image_id
    # Sharing.
    ec2.modify_image_attribute(ImageId=image_id, LaunchPermission={"Add": [{"UserId": "111122223333"}, {"Group": "all"}]})
    perms = ec2.describe_image_attribute(ImageId=image_id, Attribute="launchPermission")["LaunchPermissions"]
    assert {"UserId": "111122223333"} in perms and {"Group": "all"} in perms
    assert ec2.describe_images(ImageIds=[image_id])["Images"][0]["Public"] is True
    ec2.modify_image_attribute(ImageId=image_id, LaunchPermission={"Remove": [{"Group": "all"}]})
    assert ec2.describe_images(ImageIds=[image_id])["Images"][0]["Public"] is False
    # Copies to another region, then registration from a snapshot.
    west = boto3.client("ec2", endpoint_url=node.endpoint, region_name="us-west-2", aws_access_key_id="test", aws_secret_access_key="test")
    copy = west.copy_image(SourceImageId=image_id, SourceRegion="us-east-1", Name=f"{name}-copy")["ImageId"]
    copied = west.describe_images(ImageIds=[copy])["Images"][0]
    assert copied["Description"] == "web server" and len(copied["BlockDeviceMappings"]) == 2
    own = ec2.create_snapshot(VolumeId=root["VolumeId"], Description="manual")
    assert own["State"] == "pending"
    registered = ec2.register_image(Name=f"{name}-reg", RootDeviceName="/dev/xvda", Architecture="x86_64",
                                    BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {"SnapshotId": own["SnapshotId"]}}])["ImageId"]
    assert ec2.describe_images(ImageIds=[registered])["Images"][0]["RootDeviceName"] == "/dev/xvda"
    from_snapshot = ec2.create_volume(AvailabilityZone="us-east-1a", SnapshotId=own["SnapshotId"])
    assert from_snapshot["Size"] == 12
    copied_snapshot = west.copy_snapshot(SourceSnapshotId=own["SnapshotId"], SourceRegion="us-east-1")["SnapshotId"]
    assert west.describe_snapshots(SnapshotIds=[copied_snapshot])["Snapshots"][0]["VolumeSize"] == 12
    # Deregistering frees the snapshots.
    out = ec2.deregister_image(ImageId=image_id, DeleteAssociatedSnapshots=True)
    assert {r["SnapshotId"] for r in out["DeleteSnapshotResults"]} == set(m["SnapshotId"] for m in mappings.values())
    with pytest.raises(ClientError) as e:
        ec2.describe_images(ImageIds=[image_id])
    assert err(e) == "InvalidAMIID.NotFound"
    with pytest.raises(ClientError) as e:
        ec2.deregister_image(ImageId=base)
    assert err(e) == "AuthFailure"


def test_volume_modifications_and_type_offerings(ec2, node):
    vol = ec2.create_volume(AvailabilityZone="us-east-1a", Size=10, VolumeType="gp2")["VolumeId"]
    with pytest.raises(ClientError) as e:
        ec2.modify_volume(VolumeId=vol, Size=5)
    assert err(e) == "InvalidParameterValue"
    mod = ec2.modify_volume(VolumeId=vol, Size=20, VolumeType="gp3")["VolumeModification"]
    assert (mod["ModificationState"], mod["OriginalSize"], mod["TargetSize"], mod["TargetVolumeType"]) == ("modifying", 10, 20, "gp3")
    advance(node, 11)
    done = ec2.describe_volumes_modifications(VolumeIds=[vol])["VolumesModifications"][0]
    assert done["ModificationState"] == "completed" and done["Progress"] == 100
    assert ec2.describe_volumes(VolumeIds=[vol])["Volumes"][0]["Size"] == 20
    offerings = ec2.describe_instance_type_offerings(LocationType="availability-zone",
                                                     Filters=[{"Name": "instance-type", "Values": ["t3.micro"]}])["InstanceTypeOfferings"]
    assert sorted(o["Location"] for o in offerings) == ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e", "us-east-1f"][:len(offerings)]
    assert all(o["InstanceType"] == "t3.micro" for o in offerings) and offerings


def test_network_acls_with_numbered_rules(ec2):
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.40.1.0/24")["Subnet"]["SubnetId"]
    acl = ec2.create_network_acl(VpcId=vpc, TagSpecifications=[{"ResourceType": "network-acl", "Tags": [{"Key": "Name", "Value": "web"}]}])["NetworkAcl"]
    acl_id = acl["NetworkAclId"]
    assert not acl["IsDefault"] and {(e["RuleNumber"], e["RuleAction"]) for e in acl["Entries"]} == {(32767, "deny")}
    ec2.create_network_acl_entry(NetworkAclId=acl_id, RuleNumber=100, Protocol="tcp", RuleAction="allow", Egress=False,
                                 CidrBlock="0.0.0.0/0", PortRange={"From": 80, "To": 80})
    ec2.create_network_acl_entry(NetworkAclId=acl_id, RuleNumber=110, Protocol="-1", RuleAction="deny", Egress=False, CidrBlock="203.0.113.0/24")
    with pytest.raises(ClientError) as e:
        ec2.create_network_acl_entry(NetworkAclId=acl_id, RuleNumber=100, Protocol="tcp", RuleAction="allow", Egress=False,
                                     CidrBlock="0.0.0.0/0", PortRange={"From": 443, "To": 443})
    assert err(e) == "NetworkAclEntryAlreadyExists"
    ec2.replace_network_acl_entry(NetworkAclId=acl_id, RuleNumber=100, Protocol="tcp", RuleAction="allow", Egress=False,
                                  CidrBlock="0.0.0.0/0", PortRange={"From": 443, "To": 443})
    entries = ec2.describe_network_acls(NetworkAclIds=[acl_id])["NetworkAcls"][0]["Entries"]
    rule = next(e for e in entries if e["RuleNumber"] == 100)
    assert (rule["Protocol"], rule["PortRange"]) == ("6", {"From": 443, "To": 443})
    with pytest.raises(ClientError) as e:
        ec2.delete_network_acl_entry(NetworkAclId=acl_id, RuleNumber=999, Egress=False)
    assert err(e) == "InvalidNetworkAclEntry.NotFound"
    ec2.delete_network_acl_entry(NetworkAclId=acl_id, RuleNumber=110, Egress=False)
    # The subnet moves from the default ACL to the new one, and back.
    default = ec2.describe_network_acls(Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "default", "Values": ["true"]}])["NetworkAcls"][0]
    assoc = next(a["NetworkAclAssociationId"] for a in default["Associations"] if a["SubnetId"] == subnet)
    moved = ec2.replace_network_acl_association(AssociationId=assoc, NetworkAclId=acl_id)["NewAssociationId"]
    assert ec2.describe_network_acls(Filters=[{"Name": "association.subnet-id", "Values": [subnet]}])["NetworkAcls"][0]["NetworkAclId"] == acl_id
    with pytest.raises(ClientError) as e:
        ec2.delete_network_acl(NetworkAclId=acl_id)
    assert err(e) == "DependencyViolation"
    ec2.replace_network_acl_association(AssociationId=moved, NetworkAclId=default["NetworkAclId"])
    ec2.delete_network_acl(NetworkAclId=acl_id)
    with pytest.raises(ClientError) as e:
        ec2.delete_network_acl(NetworkAclId=default["NetworkAclId"])
    assert err(e) == "OperationNotPermitted"
    with pytest.raises(ClientError) as e:
        ec2.describe_network_acls(NetworkAclIds=[acl_id])
    assert err(e) == "InvalidNetworkAclID.NotFound"
    ec2.delete_subnet(SubnetId=subnet)
    ec2.delete_vpc(VpcId=vpc)


def test_ed25519_and_ppk_key_pairs(ec2, tmp_path):
    from cryptography.hazmat.primitives import serialization
    name = f"ed-{uuid.uuid4().hex[:6]}"
    kp = ec2.create_key_pair(KeyName=name, KeyType="ed25519")
    assert kp["KeyMaterial"].startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    private = serialization.load_ssh_private_key(kp["KeyMaterial"].encode(), password=None)
    public = private.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    described = ec2.describe_key_pairs(KeyNames=[name], IncludePublicKey=True)["KeyPairs"][0]
    assert described["KeyType"] == "ed25519" and described["PublicKey"].split()[:2] == public.split()[:2]
    # The fingerprint is OpenSSH's SHA-256 one.
    if shutil.which("ssh-keygen"):
        path = tmp_path / "key"
        path.write_text(kp["KeyMaterial"])
        path.chmod(0o600)
        out = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", str(path)], capture_output=True, text=True, check=True).stdout
        assert out.split()[1] == "SHA256:" + kp["KeyFingerprint"].rstrip("=")
    for key_type, algorithm in (("rsa", "ssh-rsa"), ("ed25519", "ssh-ed25519")):
        ppk = ec2.create_key_pair(KeyName=f"{name}-{key_type}-ppk", KeyType=key_type, KeyFormat="ppk")["KeyMaterial"]
        lines = ppk.splitlines()
        assert lines[0] == f"PuTTY-User-Key-File-2: {algorithm}" and lines[1] == "Encryption: none" and lines[-1].startswith("Private-MAC: ")
        public_count = int(lines[3].split(": ")[1])
        public_blob = base64.b64decode("".join(lines[4:4 + public_count]))
        private_count = int(lines[4 + public_count].split(": ")[1])
        private_blob = base64.b64decode("".join(lines[5 + public_count:5 + public_count + private_count]))
        # The MAC PuTTY checks: HMAC-SHA1 under SHA1("putty-private-key-file-mac-key").
        import hashlib
        import hmac
        import struct
        def string(b):
            return struct.pack(">I", len(b)) + b
        data = b"".join(string(x) for x in (algorithm.encode(), b"none", lines[2].split(": ", 1)[1].encode(), public_blob, private_blob))
        mac = hmac.new(hashlib.sha1(b"putty-private-key-file-mac-key").digest(), data, hashlib.sha1).hexdigest()
        assert lines[-1] == f"Private-MAC: {mac}"
        if key_type == "rsa":
            def fields(blob):
                out, i = [], 0
                while i < len(blob):
                    n = struct.unpack(">I", blob[i:i + 4])[0]
                    out.append(blob[i + 4:i + 4 + n])
                    i += 4 + n
                return out
            _, e_, n_ = fields(public_blob)
            d, p, q, iqmp = (int.from_bytes(x, "big") for x in fields(private_blob))
            assert p * q == int.from_bytes(n_, "big") and (iqmp * q) % p == 1
    with pytest.raises(ClientError) as e:
        ec2.create_key_pair(KeyName=f"{name}-x", KeyType="dsa")
    assert err(e) == "InvalidParameterValue"


def test_describe_calls_paginate(ec2):
    groups = [ec2.create_security_group(GroupName=f"page-{uuid.uuid4().hex[:6]}", Description="paging")["GroupId"] for _ in range(6)]
    pages = list(ec2.get_paginator("describe_security_groups").paginate(PaginationConfig={"PageSize": 5}))
    assert len(pages) >= 2 and all(len(p["SecurityGroups"]) <= 5 for p in pages)
    seen = [g["GroupId"] for p in pages for g in p["SecurityGroups"]]
    assert set(groups) <= set(seen) and len(seen) == len(set(seen))
    with pytest.raises(ClientError) as e:
        ec2.describe_instances(MaxResults=4)  # no bound in the model: checked by EC2
    assert err(e) == "InvalidParameterValue"
    with pytest.raises(ClientError) as e:
        ec2.describe_instances(InstanceIds=["i-0123456789abcdef0"], MaxResults=5)
    assert err(e) == "InvalidParameterCombination"
    with pytest.raises(ClientError) as e:
        ec2.describe_vpcs(NextToken="not-a-token")
    assert err(e) == "InvalidNextToken"
    cli_pages = list(ec2.get_paginator("describe_tags").paginate(PaginationConfig={"PageSize": 5}))
    assert cli_pages
    for g in groups:
        ec2.delete_security_group(GroupId=g)
