"""Terraform's AWS provider (5.100.0, from the machine's filesystem mirror) applies and
destroys a VPC, subnets, a security group, a key pair, a launch template and an instance
against nubo. Skipped, with a message, where Terraform or the mirror is absent."""

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import boto3
import pytest

from conftest import Nubo

MIRROR = Path("/opt/tf-plugins")
HERE = Path(__file__).parent / "terraform"


def terraform_or_skip():
    tf = shutil.which("terraform")
    if not tf:
        pytest.skip("terraform is not installed on this machine")
    if not (MIRROR / "registry.terraform.io" / "hashicorp" / "aws").exists():
        pytest.skip(f"the AWS provider mirror is absent ({MIRROR})")
    return tf


def test_terraform_applies_and_destroys_an_ec2_stack(tmp_path):
    tf = terraform_or_skip()
    work = tmp_path / "ec2"
    shutil.copytree(HERE / "ec2", work)
    rc = tmp_path / "cli.tfrc"
    # The provider comes from the mirror only: nothing is fetched from the network.
    rc.write_text(f'provider_installation {{\n  filesystem_mirror {{\n    path = "{MIRROR}"\n  }}\n  direct {{\n    exclude = ["registry.terraform.io/*/*"]\n  }}\n}}\n')
    env = dict(os.environ, TF_CLI_CONFIG_FILE=str(rc), CHECKPOINT_DISABLE="1", TF_IN_AUTOMATION="1")
    n = Nubo()
    try:
        def run(*args):
            p = subprocess.run([tf, *args], cwd=work, env=env, capture_output=True, text=True, timeout=600)
            assert p.returncode == 0, f"terraform {args[0]} failed:\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}"
            return p.stdout

        run("init", "-input=false", "-no-color")
        var = f"endpoint={n.endpoint}"
        run("apply", "-auto-approve", "-input=false", "-no-color", "-var", var)
        outputs = json.loads(run("output", "-json"))
        ec2 = boto3.client("ec2", endpoint_url=n.endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
        inst = ec2.describe_instances(InstanceIds=[outputs["instance_id"]["value"]])["Reservations"][0]["Instances"][0]
        assert inst["State"]["Name"] in ("pending", "running") and inst["KeyName"] == "tf-key"
        assert inst["VpcId"] == outputs["vpc_id"]["value"]
        run("destroy", "-auto-approve", "-input=false", "-no-color", "-var", var)
        assert ec2.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [outputs["vpc_id"]["value"]]}])["Vpcs"] == []
    finally:
        n.stop()


def test_terraform_builds_the_seeds_ha_stack_that_serves_through_the_alb(tmp_path):
    """examples/seeds-ha as a newcomer runs it: apply, curl through the ALB, destroy."""
    import urllib.request
    import time as _time
    tf = terraform_or_skip()
    if os.geteuid() != 0:
        pytest.skip("instances need namespaces: run as root (as CI does)")
    work = tmp_path / "seeds-ha"
    shutil.copytree(Path(__file__).parents[2] / "examples" / "seeds-ha", work)
    rc = tmp_path / "cli.tfrc"
    rc.write_text(f'provider_installation {{\n  filesystem_mirror {{\n    path = "{MIRROR}"\n  }}\n  direct {{\n    exclude = ["registry.terraform.io/*/*"]\n  }}\n}}\n')
    env = dict(os.environ, TF_CLI_CONFIG_FILE=str(rc), CHECKPOINT_DISABLE="1", TF_IN_AUTOMATION="1")
    n = Nubo("--time-scale", "60")
    try:
        def run(*args):
            p = subprocess.run([tf, *args], cwd=work, env=env, capture_output=True, text=True, timeout=600)
            assert p.returncode == 0, f"terraform {args[0]} failed:\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}"
            return p.stdout

        run("init", "-input=false", "-no-color")
        var = f"endpoint={n.endpoint}"
        run("apply", "-auto-approve", "-input=false", "-no-color", "-var", var)
        outputs = json.loads(run("output", "-json"))
        dns = outputs["alb_dns_name"]["value"]
        seen = set()
        deadline = _time.monotonic() + 60
        while len(seen) < 2 and _time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(urllib.request.Request(n.endpoint + "/", headers={"Host": dns}), timeout=3) as r:
                    body = r.read().decode()
                    if "Hello from" in body:
                        seen.add(body)
            except Exception:
                _time.sleep(0.05)
        assert len(seen) == 2, f"two hostnames through the ALB, saw {seen}"
        run("destroy", "-auto-approve", "-input=false", "-no-color", "-var", var)
    finally:
        n.stop()
