"""deploy/kubernetes/: valid manifests (kubernetes-validate, offline, strict), wired to what
the functions and the replicator reach, with the same settings and secrets as on faasd."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml

from tests.unit.deploy.artefacts import (
    REPO_ROOT,
    compose_env,
    compose_services,
    load_yaml,
    stack_functions,
)
from tests.unit.deploy.test_guide import created_secrets

K8S = REPO_ROOT / "deploy" / "kubernetes"
K8S_VERSION = "1.30.0"
FUNCTIONS_NAMESPACE = "openfaas-fn"  # faas-cli generate's and faas-netes' default


def manifests(folder: Path = K8S) -> list[dict]:
    docs = []
    for path in sorted(folder.glob("*.yaml")):
        docs += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return docs


def of_kind(kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for doc in manifests() if doc["kind"] == kind}


@pytest.mark.parametrize("doc", manifests() + manifests(K8S / "examples"),
                         ids=lambda d: f"{d['kind']}/{d['metadata']['name']}")
def test_every_manifest_is_valid_kubernetes(doc):
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    assert doc["metadata"]["namespace"] == FUNCTIONS_NAMESPACE


def test_the_validation_can_fail():
    broken = copy.deepcopy(of_kind("Deployment")["replicator"])
    broken["spec"]["template"]["spec"]["containers"][0]["portz"] = []
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


def reached_addresses() -> set[tuple[str, int]]:
    """host:port of every URL the functions and the replicator are given."""
    env = load_yaml(REPO_ROOT / "deploy/faasd/functions-env.yml")["environment"]
    urls = [v for v in env.values() if isinstance(v, str) and "://" in v]
    urls += [created_secrets()[name] for name in ("mongo-url", "postgres-url")]
    urls += [v for v in compose_env(compose_services()["replicator"]).values() if "://" in v]
    return {(urlsplit(u).hostname, urlsplit(u).port) for u in urls}


def test_every_address_the_code_reaches_is_a_service_in_the_functions_namespace():
    services = {(name, port["port"]) for name, svc in of_kind("Service").items()
                for port in svc["spec"]["ports"]}
    assert reached_addresses() <= services
    assert of_kind("Service")["gateway"]["spec"]["externalName"].startswith("gateway.openfaas.")


def test_the_replicator_runs_as_on_faasd_once():
    deployment = of_kind("Deployment")["replicator"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env == compose_env(compose_services()["replicator"])
    mounted = {s["secret"]["name"] for s in
               deployment["spec"]["template"]["spec"]["volumes"][0]["projected"]["sources"]}
    on_faasd = {Path(v["source"]).name for v in compose_services()["replicator"]["volumes"]}
    assert mounted == on_faasd
    assert deployment["spec"]["replicas"] == 1 and deployment["spec"]["strategy"]["type"] == \
        "Recreate"


def test_databases_keep_their_data_and_read_passwords_from_the_guides_secrets():
    secrets = set(created_secrets())
    for name in ("mongo", "postgres", "jetstream"):
        spec = of_kind("StatefulSet")[name]["spec"]
        assert spec["volumeClaimTemplates"][0]["metadata"]["name"] == "data"
        used = {v["secret"]["secretName"] for v in spec["template"]["spec"].get("volumes", [])}
        assert used <= secrets, name
    example = {doc["metadata"]["name"] for doc in manifests(K8S / "examples")}
    needed = {s for spec in stack_functions().values() for s in spec["secrets"]}
    assert needed | {"mongo-password", "postgres-password"} <= example
    for doc in manifests(K8S / "examples"):
        for value in doc["stringData"].values():
            assert "REPLACE" in value  # placeholders only, never a real secret


def test_images_match_faasd():
    for name, kind in (("mongo", "StatefulSet"), ("postgres", "StatefulSet"),
                       ("jetstream", "StatefulSet"), ("replicator", "Deployment")):
        image = of_kind(kind)[name]["spec"]["template"]["spec"]["containers"][0]["image"]
        assert image == compose_services()[name]["image"], name
    args = of_kind("StatefulSet")["jetstream"]["spec"]["template"]["spec"]["containers"][0]
    assert ["/nats-server", *args["args"]] == compose_services()["jetstream"]["command"]
    assert re.search(r"faas-cli (deploy|generate)", (REPO_ROOT / "docs/deploy.md").read_text())
