"""The faasd docker-compose additions agree with stack.yml, the code and faasd's layout."""

from __future__ import annotations

import re

import pytest

from tests.unit.deploy.artefacts import (
    FAASD_SECRETS,
    GATEWAY_TIMEOUTS,
    REPO_ROOT,
    compose_env,
    compose_services,
    function_env,
    load_yaml,
    normalise,
    pyproject_pins,
    requirement_pins,
    seconds,
    stack_functions,
)
from tests.unit.deploy.codescan import scan_package
from tests.unit.deploy.test_stack import FROM_SECRET, LOCAL_ONLY

FAASD_OWN_SERVICES = {"gateway", "nats", "prometheus", "queue-worker", "basic-auth-plugin"}
CONTAINER_PORTS = {"mongo": 27017, "postgres": 5432, "jetstream": 4222}
REPLICATOR = REPO_ROOT / "deploy" / "replicator"
IMPORT_TO_DIST = {"bson": "pymongo", "gridfs": "pymongo", "nats": "nats-py",
                  "google": "google-auth", "googleapiclient": "google-api-python-client",
                  "prometheus_client": "prometheus-client", "yaml": "pyyaml",
                  "psycopg2": "psycopg2-binary"}


def test_services_are_the_projects_with_pinned_images():
    services = compose_services()
    assert {"mongo", "postgres", "jetstream", "replicator"} <= set(services)
    assert not set(services) & FAASD_OWN_SERVICES, "never redefine faasd's own services"
    for name, service in services.items():
        image = service["image"]
        assert re.search(r":\d+(\.\d+)+$", image), f"{name}: pin a version, not {image}"


def test_data_lives_under_var_lib_faasd_and_secrets_come_from_faas_cli():
    for name, service in compose_services().items():
        for volume in service.get("volumes", []):
            source = volume["source"]
            assert volume["type"] == "bind"
            assert source.startswith("./") or source.startswith(FAASD_SECRETS), (name, source)


@pytest.mark.parametrize("host,port", sorted(CONTAINER_PORTS.items()))
def test_database_ports_are_not_published_beyond_localhost(host, port):
    for mapping in compose_services()[host].get("ports", []):
        assert mapping.startswith("127.0.0.1:"), mapping
        assert mapping.endswith(f":{port}")


def test_replicator_gets_every_setting_and_secret_it_reads():
    service = compose_services()["replicator"]
    env = compose_env(service)
    reads = scan_package("workers/replicator")
    missing = reads.env - set(LOCAL_ONLY) - set(FROM_SECRET) - set(env)
    assert not missing, f"the replicator reads {sorted(missing)}: set them in the compose file"
    mounted = {v["target"].rsplit("/", 1)[1] for v in service["volumes"]
               if v["target"].startswith(env["SECRETS_DIR"] + "/")}
    needed = reads.secrets | {FROM_SECRET[e] for e in reads.env & set(FROM_SECRET)}
    assert needed <= mounted
    assert not set(env) & {"MONGO_URL", "DRIVE_API_ROOT", "DRIVE_WEB_ROOT"}


def test_replicator_and_functions_share_queue_and_database_names():
    env = compose_env(compose_services()["replicator"])
    uploader_env = function_env(stack_functions()["upload-file"])
    for key in ("NATS_URL", "MONGO_DB", "GATEWAY_URL"):
        assert env[key] == uploader_env[key], key


def test_replicator_image_runs_the_worker_module():
    dockerfile = (REPLICATOR / "Dockerfile").read_text()
    assert 'CMD ["python", "-m", "workers.replicator"]' in dockerfile
    assert re.search(r"^USER (?!root)\w+", dockerfile, flags=re.MULTILINE)
    assert (REPO_ROOT / "workers" / "replicator" / "__init__.py").is_file()


def dists_for(imports: set[str]) -> set[str]:
    return {normalise(IMPORT_TO_DIST.get(name, name)) for name in imports}


def test_replicator_requirements_cover_its_imports_pinned_as_pyproject():
    pins = requirement_pins(REPLICATOR / "requirements.txt")
    reads = scan_package("workers/replicator")
    assert dists_for(reads.third_party) <= set(pins)
    project = pyproject_pins()
    assert {name: project.get(name) for name in pins} == pins


def test_gateway_timeouts_exceed_every_function_timeout():
    changes = load_yaml(GATEWAY_TIMEOUTS)["services"]
    gateway = compose_env(changes["gateway"])
    upstream = seconds(gateway["upstream_timeout"])
    assert seconds(gateway["read_timeout"]) > upstream
    assert seconds(gateway["write_timeout"]) > upstream
    for name, spec in stack_functions().items():
        assert upstream >= seconds(function_env(spec)["exec_timeout"]), name
    ack_wait = seconds(compose_env(changes["queue-worker"])["ack_wait"])
    assert ack_wait > seconds(function_env(stack_functions()["stats-compute"])["exec_timeout"])


def test_replicator_code_lives_in_what_its_image_holds():
    dockerfile = (REPLICATOR / "Dockerfile").read_text()
    copied = re.findall(r"^COPY --chown=\S+ (\w+)/ ", dockerfile, flags=re.MULTILINE)
    assert set(copied) == {"fileserver", "workers"}
    outside = [str(p.relative_to(REPO_ROOT)) for p in scan_package("workers/replicator").modules
               if not any(p.is_relative_to(REPO_ROOT / folder) for folder in copied)]
    assert not outside, f"the replicator imports modules missing from its image: {outside}"


def test_faasd_provider_proxy_timeout_covers_the_gateways():
    dropin = (REPO_ROOT / "deploy" / "faasd" / "faasd-provider-timeout.conf").read_text()
    provider = seconds(re.search(r'Environment="service_timeout=(\S+)"', dropin).group(1))
    gateway = compose_env(load_yaml(GATEWAY_TIMEOUTS)["services"]["gateway"])
    assert provider >= seconds(gateway["upstream_timeout"])
    guide = (REPO_ROOT / "docs" / "deploy.md").read_text()
    assert "faasd-provider.service.d/timeout.conf" in guide


def test_commands_name_their_binary_because_faasd_replaces_the_entrypoint():
    """faasd sets `command` as the container's whole argv (oci.WithProcessArgs)."""
    for name, service in compose_services().items():
        if "command" in service:
            assert service["command"][0].startswith("/"), name
    assert compose_services()["jetstream"]["command"][:2] == ["/nats-server", "-js"]


# What faasd's ParseCompose reads from a service (pkg/supervisor.go); anything else is ignored.
FAASD_COMPOSE_KEYS = {"image", "command", "cap_add", "environment", "volumes", "depends_on",
                      "ports", "user"}


def test_services_use_only_what_faasd_understands():
    for name, service in compose_services().items():
        assert set(service) <= FAASD_COMPOSE_KEYS, (name, set(service) - FAASD_COMPOSE_KEYS)
        for volume in service.get("volumes", []):
            assert volume["type"] == "bind", name
            if volume["source"].startswith(FAASD_SECRETS):
                assert volume.get("read_only") is True, (name, volume["source"])


def test_prometheus_scrapes_every_deployed_function_and_the_replicator():
    scrape = load_yaml(REPO_ROOT / "deploy" / "prometheus" / "faasd-additions.yml")
    jobs = {job["job_name"]: job for job in scrape["scrape_configs"]}
    scraped = {target["labels"]["__function"]
               for target in jobs["fileserver-functions"]["static_configs"]}
    assert scraped == set(stack_functions())
    targets = {t for c in jobs["fileserver-replicator"]["static_configs"] for t in c["targets"]}
    port = compose_env(compose_services()["replicator"])["METRICS_PORT"]
    assert targets == {f"replicator:{port}"}
