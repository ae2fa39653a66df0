"""The deployment files parse and say what the docs promise."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]


def _docs(path: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((REPO / path).read_text()) if d]


def test_kubernetes_manifests() -> None:
    by_kind = {d["kind"]: d for d in _docs("deploy/kubernetes/hub.yaml")}
    assert set(by_kind) == {"Deployment", "PodDisruptionBudget", "Service"}
    deployment = by_kind["Deployment"]
    spec = deployment["spec"]
    labels = spec["template"]["metadata"]["labels"]
    assert spec["replicas"] == 2 and spec["selector"]["matchLabels"].items() <= labels.items()
    anti = spec["template"]["spec"]["affinity"]["podAntiAffinity"]
    term = anti["requiredDuringSchedulingIgnoredDuringExecution"][0]
    assert term["topologyKey"] == "kubernetes.io/hostname"
    assert term["labelSelector"]["matchLabels"].items() <= labels.items()
    container = spec["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/health"
    assert container["envFrom"] == [{"secretRef": {"name": "memory-hub"}}]
    assert "env" not in container  # no secret value inline
    port_names = {p["name"] for p in container["ports"]}
    assert container["readinessProbe"]["httpGet"]["port"] in port_names
    pdb = by_kind["PodDisruptionBudget"]
    assert pdb["spec"]["minAvailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert by_kind["Service"]["spec"]["selector"].items() <= labels.items()
    secret = _docs("deploy/kubernetes/secret.example.yaml")[0]
    assert secret["metadata"]["name"] == "memory-hub"
    assert {"DATABASE_URL", "API_KEYS"} <= set(secret["stringData"])


def test_compose_runs_the_hub_against_postgres() -> None:
    compose = _docs("docker/compose.yaml")[0]
    hub, postgres = compose["services"]["hub"], compose["services"]["postgres"]
    assert hub["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "postgres:5432" in hub["environment"]["DATABASE_URL"]
    assert hub["build"]["dockerfile"] == "Dockerfile"
    assert (REPO / "docker" / hub["build"]["context"] / "Dockerfile").is_file()
    assert "healthcheck" in postgres and "healthcheck" in hub


def test_dockerfile_runs_memory_hub_unprivileged() -> None:
    lines = (REPO / "Dockerfile").read_text().splitlines()
    assert any(line.startswith("USER ") and not line.endswith(" root") for line in lines)
    assert 'ENTRYPOINT ["memory-hub"]' in lines
    copied = [
        line.split()[1] for line in lines if line.startswith("COPY ") and "--from" not in line
    ]
    for source in copied:
        assert (REPO / source).exists(), source
