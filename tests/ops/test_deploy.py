"""Every deployment artifact under deploy/ (and the Dockerfile), validated without a cluster:
the YAML parses, required fields are present, probes point at /healthz and /readyz, images, ports
and secret names agree, and the settings each one hands the bridge are accepted by Settings.from_env.
"""

from __future__ import annotations

import configparser
import re
import runpy
from pathlib import Path
from typing import Any

import pytest
import yaml
from gunicorn.config import Config as GunicornConfig

from ops.helm_render import TemplateError
from ops.helm_render import render
from ops.helm_render import render_chart
from scim_bridge import __version__
from scim_bridge.config import Settings
from scim_bridge.web.gunicorn import gunicorn_options

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
CHART = DEPLOY / "helm" / "scim-bridge"
PORT = 8080
GUNICORN_CONF = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))


def load_all(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def by_kind(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for doc in docs:
        assert doc.get("apiVersion") and doc.get("kind"), doc
        assert doc["metadata"]["name"], doc
        assert doc["kind"] not in found, f"two {doc['kind']} objects"
        found[doc["kind"]] = doc
    return found


def kubernetes_objects() -> dict[str, dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        if path.name not in ("kustomization.yaml",):
            docs += load_all(path)
    return by_kind(docs)


def helm_objects(overrides: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    rendered = render_chart(CHART, overrides)
    return by_kind([doc for docs in rendered.values() for doc in docs])


def settings_from(config: dict[str, str], env: list[dict[str, Any]], files: dict[str, str],
                  tmp_path: Path) -> Settings:
    """Settings.from_env with the ConfigMap data and the container env, secret files written to tmp."""
    environ = {k: str(v) for k, v in config.items()}
    for item in env:
        value = str(item["value"])
        if item["name"].endswith("_FILE"):
            local = tmp_path / Path(value).name
            local.write_text(files[Path(value).name])
            value = str(local)
        environ[item["name"]] = value
    return Settings.from_env(environ)


SECRET_FILES = {
    "opsgenie-api-key": "og-0123456789",
    "scim-bearer-token": "scb_0123456789abcdefghij",
    "database-url": "postgresql+psycopg://scim_bridge:pw@db:5432/scim_bridge",
}


def check_workload(objects: dict[str, dict[str, Any]], image: str, tmp_path: Path) -> None:
    deployment = objects["Deployment"]
    pod = deployment["spec"]["template"]
    pod_labels = pod["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    spec = pod["spec"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] == 10001
    assert spec["terminationGracePeriodSeconds"] > GUNICORN_CONF["graceful_timeout"]
    (container,) = spec["containers"]
    assert container["image"] == image
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": PORT}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    # Writable paths: /tmp and /data only, as the image expects with a read-only root.
    writable = {m["mountPath"] for m in container["volumeMounts"] if not m.get("readOnly")}
    assert writable == {"/tmp", "/data"}
    volumes = {v["name"]: v for v in spec["volumes"]}
    secret_mount = next(m for m in container["volumeMounts"] if m["name"] == "secrets")
    secret_name = volumes["secrets"]["secret"]["secretName"]
    files = [e for e in container["env"] if e["name"].endswith("_FILE")]
    assert {e["name"] for e in files} == {"OPSGENIE_API_KEY_FILE", "SCIM_BEARER_TOKEN_FILE",
                                         "SCIM_BRIDGE_DATABASE_URL_FILE"}
    for item in files:
        assert Path(item["value"]).parent == Path(secret_mount["mountPath"])
        assert Path(item["value"]).name in SECRET_FILES
    # The ConfigMap the pod reads, and the settings it all adds up to.
    (ref,) = container["envFrom"]
    config = objects["ConfigMap"]
    assert ref["configMapRef"]["name"] == config["metadata"]["name"]
    assert config["data"].get("SCIM_BRIDGE_BIND", f"0.0.0.0:{PORT}").endswith(f":{PORT}")
    settings = settings_from(config["data"], container["env"], SECRET_FILES, tmp_path)
    assert settings.opsgenie_api_key == SECRET_FILES["opsgenie-api-key"]
    assert settings.database_url == SECRET_FILES["database-url"]
    assert len(settings.tokens) == 1
    assert settings.deactivation == config["data"]["SCIM_BRIDGE_DEACTIVATION"]
    # Service, autoscaler, disruption budget and network policy all aim at these pods.
    service = objects["Service"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    if "HorizontalPodAutoscaler" in objects:
        hpa = objects["HorizontalPodAutoscaler"]["spec"]
        assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                         "name": deployment["metadata"]["name"]}
        assert 1 < hpa["minReplicas"] <= hpa["maxReplicas"]
    pdb = objects["PodDisruptionBudget"]["spec"]
    assert pdb["selector"]["matchLabels"].items() <= pod_labels.items()
    assert pdb["minAvailable"] >= 1
    policy = objects["NetworkPolicy"]["spec"]
    assert policy["podSelector"]["matchLabels"].items() <= pod_labels.items()
    assert set(policy["policyTypes"]) == {"Ingress", "Egress"}
    assert policy["ingress"][0]["ports"] == [{"port": PORT, "protocol": "TCP"}]
    egress_ports = {p["port"] for rule in policy["egress"] for p in rule["ports"]}
    assert {53, 443, 5432} <= egress_ports
    if "Secret" in objects:
        assert objects["Secret"]["metadata"]["name"] == secret_name
        assert set(objects["Secret"]["stringData"]) == set(SECRET_FILES)


def test_kubernetes_manifests(tmp_path: Path) -> None:
    objects = kubernetes_objects()
    assert set(objects) == {"ConfigMap", "Deployment", "Service", "HorizontalPodAutoscaler",
                            "PodDisruptionBudget", "NetworkPolicy", "Secret"}
    check_workload(objects, f"registry.example.com/scim-bridge:{__version__}", tmp_path)
    kustomization = yaml.safe_load((DEPLOY / "kubernetes" / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    on_disk = {p.name for p in (DEPLOY / "kubernetes").glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == on_disk - {"secret.example.yaml"}  # the Secret is created by hand, never applied


def test_helm_chart_renders_valid_kubernetes_objects(tmp_path: Path) -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["apiVersion"] == "v2"
    assert chart["appVersion"] == __version__
    objects = helm_objects()
    assert set(objects) == {"ConfigMap", "Deployment", "Service", "HorizontalPodAutoscaler",
                            "PodDisruptionBudget", "NetworkPolicy"}
    assert "replicas" not in objects["Deployment"]["spec"]  # the autoscaler owns it
    check_workload(objects, f"registry.example.com/scim-bridge:{__version__}", tmp_path)
    assert objects["Deployment"]["spec"]["template"]["metadata"]["annotations"]["prometheus.io/path"] == "/metrics"


def test_helm_chart_with_overrides(tmp_path: Path) -> None:
    objects = helm_objects({
        "autoscaling": {"enabled": False},
        "replicaCount": 3,
        "image": {"tag": "9.9.9"},
        "secret": {"create": True, **dict.fromkeys(("opsgenieApiKey", "scimBearerToken", "databaseUrl"), "x")},
        "config": {"deactivation": "delete", "roleGroups": "OpsGenie Admins=Admin"},
        "networkPolicy": {"enabled": True},
    })
    assert "HorizontalPodAutoscaler" not in objects
    assert objects["Deployment"]["spec"]["replicas"] == 3
    check_workload(objects, "registry.example.com/scim-bridge:9.9.9", tmp_path)
    settings = settings_from(objects["ConfigMap"]["data"], [{"name": "OPSGENIE_API_KEY", "value": "k"}], {},
                             tmp_path)
    assert settings.deactivation == "delete"
    assert settings.role_group_aliases == {"OpsGenie Admins": "Admin"}
    without = helm_objects({"networkPolicy": {"enabled": False}, "podDisruptionBudget": {"enabled": False}})
    assert "NetworkPolicy" not in without and "PodDisruptionBudget" not in without


def test_values_are_documented() -> None:
    """Every top-level key of values.yaml has a comment, and every value the templates read exists."""
    text = (CHART / "values.yaml").read_text()
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if re.match(r"^[A-Za-z]", line):
            assert lines[i - 1].startswith("#"), f"values.yaml: no comment above {line!r}"
    values = yaml.safe_load(text)
    for path in sorted((CHART / "templates").glob("*.yaml")):
        for ref in re.findall(r"\.Values\.([A-Za-z0-9_.]+)", path.read_text()):
            node: Any = values
            for part in ref.split("."):
                assert isinstance(node, dict) and part in node, f"{path.name}: .Values.{ref} is not in values.yaml"
                node = node[part]


def test_renderer_refuses_what_it_does_not_understand() -> None:
    context = {"Values": {"a": {"b": 1}, "empty": ""}}
    assert render("x: {{ .Values.a.b }}", context) == "x: 1"
    assert render("{{- if .Values.empty }}yes{{- else }}no{{- end }}", context) == "no"
    assert render('{{ .Values.empty | default "d" | quote }}', context) == '"d"'
    with pytest.raises(TemplateError):
        render("{{ include \"x\" . }}", context)
    with pytest.raises(TemplateError):
        render("{{ .Values.missing }}", context)
    with pytest.raises(TemplateError):
        render("{{ .Values.a.b | upper }}", context)


def test_compose_file(tmp_path: Path) -> None:
    compose = yaml.safe_load((DEPLOY / "compose" / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"scim-bridge", "postgres"}
    bridge = services["scim-bridge"]
    postgres = services["postgres"]
    assert bridge["image"] == f"scim-bridge:{__version__}"
    assert (DEPLOY / "compose" / bridge["build"]["context"] / bridge["build"]["dockerfile"]).resolve() == \
        ROOT / "Dockerfile"
    assert bridge["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "healthcheck" in postgres
    assert any(p.endswith(f":{PORT}") for p in bridge["ports"])
    assert bridge["read_only"] is True and set(bridge["tmpfs"]) == {"/tmp", "/data"}
    # Every secret the services use is declared from a file, and every *_FILE variable names one.
    declared = compose["secrets"]
    for service in (bridge, postgres):
        for name in service["secrets"]:
            assert "file" in declared[name]
        for var, value in service["environment"].items():
            if var.endswith("_FILE"):
                assert value.startswith("/run/secrets/") and value.rsplit("/", 1)[1] in service["secrets"]
    files = {"opsgenie_api_key": "og-0123456789", "scim_bearer_token": "scb_0123456789abcdefghij",
             "database_url": "postgresql+psycopg://scim_bridge:pw@postgres:5432/scim_bridge"}
    env = [{"name": k, "value": v} for k, v in bridge["environment"].items()]
    settings = settings_from({}, env, files, tmp_path)
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert settings.opsgenie_api_key == "og-0123456789"
    grace = int(bridge["stop_grace_period"].rstrip("s"))
    assert grace > GUNICORN_CONF["graceful_timeout"]


def test_gunicorn_conf_matches_serve_defaults() -> None:
    known = GunicornConfig().settings
    public = {k: v for k, v in GUNICORN_CONF.items() if not k.startswith("_") and not hasattr(v, "__spec__")}
    unknown = set(public) - set(known)
    assert not unknown, f"not gunicorn settings: {unknown}"
    defaults = gunicorn_options(host="0.0.0.0", port=PORT, workers=2, threads=32)
    for name in ("bind", "workers", "worker_class", "threads", "timeout", "graceful_timeout", "keepalive",
                 "accesslog", "errorlog"):
        assert GUNICORN_CONF[name] == defaults[name], name
    assert GUNICORN_CONF["worker_class"] == "scim_bridge.web.worker.BridgeThreadWorker"  # gthread, bounded
    assert callable(GUNICORN_CONF["on_starting"])


def test_dockerfile_is_hardened() -> None:
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()]
    runtime = lines[max(i for i, line in enumerate(lines) if line.startswith("FROM ")):]
    user = [line.split()[1] for line in runtime if line.startswith("USER ")]
    assert user and user[-1].split(":")[0] not in ("0", "root")
    assert f"EXPOSE {PORT}" in runtime
    assert any(line.startswith("HEALTHCHECK") for line in runtime)
    assert any("/healthz" in line for line in runtime)
    volume = next(line for line in runtime if line.startswith("VOLUME"))
    assert "/data" in volume and "/tmp" in volume
    text = "\n".join(runtime)
    copied = re.search(r"COPY (deploy/gunicorn\.conf\.py) (\S+)", text)
    assert copied and (ROOT / copied.group(1)).is_file()
    assert f"SCIM_BRIDGE_GUNICORN_CONFIG={copied.group(2)}" in text
    assert "PYTHONDONTWRITEBYTECODE=1" in text  # nothing written next to the code


def test_systemd_unit() -> None:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    text = (DEPLOY / "systemd" / "scim-bridge.service").read_text()
    parser.read_string(text)
    assert set(parser.sections()) == {"Unit", "Service", "Install"}
    service = parser["Service"]
    assert service["ExecStart"].endswith("scim-bridge serve")
    assert service["User"] not in ("root", "0")
    assert service["ProtectSystem"] == "strict" and service["NoNewPrivileges"] == "yes"
    assert int(service["TimeoutStopSec"]) > GUNICORN_CONF["graceful_timeout"]
    # Secrets arrive as credentials and are read through the *_FILE variables.
    credentials = {line.split("=", 1)[1].split(":", 1)[0] for line in text.splitlines()
                   if line.startswith("LoadCredential=")}
    file_vars = dict(re.findall(r"^Environment=(\w+_FILE)=%d/(\S+)$", text, re.M))
    assert set(file_vars) == {"OPSGENIE_API_KEY_FILE", "SCIM_BEARER_TOKEN_FILE"}
    assert set(file_vars.values()) == credentials
    assert parser["Install"]["WantedBy"] == "multi-user.target"
