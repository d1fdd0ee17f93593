"""deploy/ is linted where it cannot be run (issue #22 item 3): the Kubernetes manifests
against the API schemas (kubernetes-validate, offline), the compose file against the
Compose specification (check-jsonschema's bundled schema, and ``docker compose config`` or
Debian's ``docker-compose config``), and both deploy every role ``serve`` has."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from campus_safety import runtime

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
BIN = Path(sys.executable).parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=DEPLOY, capture_output=True, text=True, timeout=120)


def test_the_kubernetes_manifests_are_valid_against_the_api_schema():
    manifests = sorted(str(p) for p in (DEPLOY / "k8s").glob("*.yaml"))
    result = _run(str(BIN / "kubernetes-validate"), "--strict", "-k", "1.30", *manifests)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "passed" in result.stdout


def test_the_compose_file_is_valid_against_the_compose_specification():
    result = _run(
        str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec", "compose.yaml"
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _compose() -> list[str]:
    """Compose v2 (the docker plugin) where present, else Debian's docker-compose 1.29;
    `make test-deps` installs the latter, so a missing one is a failure, not a skip."""
    docker = shutil.which("docker")
    if docker and _run(docker, "compose", "version").returncode == 0:
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    assert legacy, "no Docker Compose: `make test-deps` installs Debian's docker-compose"
    return [legacy]


def test_docker_compose_accepts_the_compose_file():
    env = {
        **dict.fromkeys(
            ["SECRET_KEY", "PERSONAL_DATA_KEYS", "PERSONAL_DATA_HASH_KEY", "GB28181_PASSWORD"],
            "lint",
        ),
        "PATH": "/usr/bin:/bin",
    }
    for files in (["compose.yaml"], ["compose.yaml", "compose.local-services.yaml"]):
        result = subprocess.run(
            [*_compose(), "-p", "campus-safety", *(f"-f{f}" for f in files), "config", "--quiet"],
            cwd=DEPLOY, capture_output=True, text=True, timeout=120, env=env,
        )  # fmt: skip
        assert result.returncode == 0, f"{files}: {result.stderr}"


def _roles_in(commands: list[list[str]]) -> set[str]:
    found = set()
    for command in commands:
        if "--role" in command:
            found |= set(command[command.index("--role") + 1].split(","))
    return found


def test_compose_and_kubernetes_run_every_role_and_migrate_once_first():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert _roles_in([s.get("command", []) for s in services.values()]) == set(runtime.ROLES)
    assert services["migrate"]["command"] == ["migrate", "--noinput"]
    for name in ("web", "sip", "mqtt", "jobs"):
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )
    documents = [
        doc
        for path in sorted((DEPLOY / "k8s").glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    ]
    workloads = [d for d in documents if d["kind"] in ("Deployment", "StatefulSet")]
    containers = [c for w in workloads for c in w["spec"]["template"]["spec"]["containers"]]
    assert _roles_in([c["args"] for c in containers]) == set(runtime.ROLES)
    for container in containers:  # every process answers its probes on /healthz
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert container[probe]["httpGet"]["path"] == "/healthz", container["name"]
        assert {"secretRef": {"name": "campus-safety"}} in container["envFrom"]
    jobs = [d for d in documents if d["kind"] == "Job"]
    assert [j["spec"]["template"]["spec"]["containers"][0]["args"] for j in jobs] == [
        ["migrate", "--noinput"]
    ]
    assert "SECRET_KEY" not in (DEPLOY / "k8s" / "00-config.yaml").read_text().split("data:")[1]


def test_the_image_bases_are_pinned_to_exact_releases():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    defaults = dict(re.findall(r"^ARG\s+(\w+)=(\S+)", dockerfile, re.MULTILINE))
    # a base may be a build argument (deploy/local-base.sh's stand-ins): its default counts
    bases = [
        re.sub(r"\$\{(\w+)\}", lambda m: defaults[m[1]], base)
        for base in re.findall(r"^FROM\s+(\S+)", dockerfile, re.MULTILINE)
    ]
    assert bases
    for base in bases:
        assert re.search(r":\d+\.\d+\.\d+", base), f"{base} is not pinned to a release"
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    for name, service in compose["services"].items():
        image = service.get("image", "")
        if not image.startswith("campus-safety"):
            assert re.search(r":\d+\.\d+(\.\d+)?", image), f"{name}: {image} is not pinned"


def test_the_image_runs_as_a_numeric_non_root_user():
    """Kubernetes' runAsNonRoot (deploy/k8s/) refuses to start an image whose USER is a
    name: it cannot tell whether the name is root."""
    users = re.findall(r"^USER\s+(\S+)", (DEPLOY / "Dockerfile").read_text(), re.MULTILINE)
    assert users, "the image runs as root"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0, users[-1]
