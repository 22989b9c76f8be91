"""docs/deploy.md creates what the artefacts expect, in an order that works."""

from __future__ import annotations

import re

from tests.unit.deploy.artefacts import (
    FAASD_SECRETS,
    GATEWAY_TIMEOUTS,
    GUIDE,
    REPO_ROOT,
    compose_env,
    compose_services,
    host_port,
    load_yaml,
    stack_functions,
)

TEXT = GUIDE.read_text()


def created_secrets() -> dict[str, str]:
    """``faas-cli secret create NAME --from-literal VALUE`` lines: name → value."""
    return dict(re.findall(r'faas-cli secret create ([a-z-]+) --from-literal "([^"]+)"', TEXT))


def mounted_secrets() -> set[str]:
    return {volume["source"][len(FAASD_SECRETS):]
            for service in compose_services().values()
            for volume in service.get("volumes", [])
            if volume["source"].startswith(FAASD_SECRETS)}


def test_every_secret_used_is_created():
    used = {name for spec in stack_functions().values() for name in spec["secrets"]}
    assert used | mounted_secrets() <= set(created_secrets())


def test_database_urls_point_at_the_compose_services_and_users():
    secrets = created_secrets()
    mongo_env = compose_env(compose_services()["mongo"])
    postgres_env = compose_env(compose_services()["postgres"])
    assert host_port(secrets["mongo-url"]) == ("mongo", 27017)
    user = mongo_env["MONGO_INITDB_ROOT_USERNAME"]
    assert secrets["mongo-url"].startswith(f"mongodb://{user}:$MONGO_PASSWORD@")
    assert host_port(secrets["postgres-url"]) == ("postgres", 5432)
    user, database = postgres_env["POSTGRES_USER"], postgres_env["POSTGRES_DB"]
    assert secrets["postgres-url"] == (
        f"postgresql+psycopg2://{user}:$POSTGRES_PASSWORD@postgres:5432/{database}")


def test_steps_run_in_an_order_that_works():
    """Images exist before faasd pulls them, secrets before they are mounted, services
    before the functions that use them, accounts before the upload."""
    steps = ["./hack/install.sh", "make build push", "faas-cli login",
             "faas-cli secret create postgres-url", "systemctl restart faasd", "make deploy",
             "/function/drive-accounts?verify=true", "/function/upload-file",
             "/function/get-url?id="]
    positions = [TEXT.index(step) for step in steps]
    assert positions == sorted(positions)


def test_data_folders_are_created_before_faasd_starts_the_services():
    restart = TEXT.index("systemctl restart faasd")
    for service in compose_services().values():
        for volume in service.get("volumes", []):
            if volume["source"].startswith("./"):
                folder = "/var/lib/faasd/" + volume["source"][2:]
                assert -1 < TEXT.find(folder) < restart, folder


def test_the_replicator_image_placeholder_is_the_one_the_guide_replaces():
    image = compose_services()["replicator"]["image"]
    assert f"s#{image}#$REGISTRY/replicator:$TAG#" in TEXT


def test_gateway_timeout_edits_match_the_documented_values():
    gateway = compose_env(load_yaml(GATEWAY_TIMEOUTS)["services"]["gateway"])
    for key, value in gateway.items():
        assert re.search(rf"s/{key}=\w+/{key}={value}/", TEXT), key


def test_makefile_builds_pushes_and_deploys_the_stack():
    makefile = (REPO_ROOT / "Makefile").read_text()
    for action in ("build", "push", "deploy"):
        assert re.search(rf"^{action}:\n(\t.*\n)*\t.*faas-cli {action} -f stack\.yml",
                         makefile, flags=re.MULTILINE), action
    replicator = "docker build -f deploy/replicator/Dockerfile -t $(REGISTRY)/replicator:$(TAG)"
    assert replicator in makefile
