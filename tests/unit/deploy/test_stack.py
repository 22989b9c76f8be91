"""stack.yml agrees with the code: functions, environment, secrets, hosts, limits, timeouts."""

from __future__ import annotations

import re

import pytest

from tests.unit.deploy.artefacts import (
    REPO_ROOT,
    TEMPLATE,
    compose_services,
    contract_functions,
    function_env,
    host_port,
    seconds,
    stack,
    stack_functions,
)
from tests.unit.deploy.codescan import scan_function

# Settings read by the code that production leaves unset on purpose.
LOCAL_ONLY = {
    "DRIVE_API_ROOT": "Drive emulator root; unset means real Google",
    "DRIVE_WEB_ROOT": "emulator download links; unset means drive.google.com",
    "DRIVE_USERCONTENT_ROOT": "emulator large-file links; unset means drive.usercontent.google.com",
    "PORT": "passed as --port by the template's fprocess",
    "FUNCTION_HOST": "passed as --host by the template's fprocess",
    "FUNCTION_NAME": "only for handlers that call function_name(); the project's name themselves",
}
# url_setting(ENV, secret): production gives the secret (a URL with a password) instead.
FROM_SECRET = {"MONGO_URL": "mongo-url", "POSTGRES_URL": "postgres-url"}
FAASD_CE_MAX_FUNCTIONS = 15
MIN_UPLOAD_MBIT = 50  # slowest client link a MAX_UPLOAD_BYTES upload must fit through


def function_folders() -> set[str]:
    return {p.name for p in (REPO_ROOT / "functions").iterdir() if (p / "handler.py").is_file()}


def test_stack_lists_exactly_the_contract_functions():
    assert set(stack_functions()) == contract_functions()


def test_functions_holds_exactly_what_stack_yml_deploys():
    """Only product functions under functions/ (echo, the benchmarks', is in bench/)."""
    assert function_folders() == set(stack_functions())


def test_every_entry_builds_its_own_folder_with_the_project_template():
    for name, spec in stack_functions().items():
        assert spec["handler"] == f"./functions/{name}"
        assert (REPO_ROOT / "functions" / name / "handler.py").is_file(), name
        assert spec["lang"] == TEMPLATE.name
        assert re.fullmatch(rf"\$\{{REGISTRY:-[^}}]+\}}/{name}:\$\{{TAG:-[0-9.]+\}}",
                            spec["image"]), spec["image"]
    assert {"name": TEMPLATE.name} in stack()["configuration"]["templates"]
    assert "./fileserver" in stack()["configuration"]["copy"]


def test_function_count_fits_faasd_ce():
    assert len(stack_functions()) <= FAASD_CE_MAX_FUNCTIONS


@pytest.mark.parametrize("name", sorted(contract_functions()))
def test_every_setting_the_function_reads_is_set(name):
    spec = stack_functions()[name]
    reads = scan_function(name)
    required = reads.env - set(LOCAL_ONLY) - set(FROM_SECRET)
    missing = required - set(function_env(spec))
    assert not missing, f"{name} reads {sorted(missing)}: set them in stack.yml"
    for env_name, secret_name in FROM_SECRET.items():
        if env_name in reads.env:
            assert secret_name in spec["secrets"], f"{name} needs secret {secret_name}"


@pytest.mark.parametrize("name", sorted(contract_functions()))
def test_every_secret_the_function_reads_is_mounted(name):
    missing = scan_function(name).secrets - set(stack_functions()[name]["secrets"])
    assert not missing, f"{name} reads secrets {sorted(missing)}: add them in stack.yml"


def test_no_environment_overrides_a_secret_url_or_points_at_the_emulator():
    for name, spec in stack_functions().items():
        env = function_env(spec)
        assert not set(env) & (set(FROM_SECRET) | {"DRIVE_API_ROOT", "DRIVE_WEB_ROOT",
                                                   "DRIVE_USERCONTENT_ROOT"}), name


def test_hosts_and_ports_are_faasd_services():
    services = compose_services()
    for name, spec in stack_functions().items():
        env = function_env(spec)
        assert host_port(env["GATEWAY_URL"]) == ("gateway", 8080), name
        nats_host, nats_port = host_port(env["NATS_URL"])
        assert nats_port == 4222 and nats_host in services, name
        assert "/nats:" in services[nats_host]["image"]
        # faasd's own `nats` is NATS Streaming for the gateway, not JetStream
        assert nats_host != "nats"
        assert env["SECRETS_DIR"] == "/var/openfaas/secrets"


def test_memory_limits_and_one_replica_each():
    for name, spec in stack_functions().items():
        assert re.fullmatch(r"\d+Mi", spec["limits"]["memory"]), name
        assert int(spec["limits"]["memory"][:-2]) <= 512, name
        assert spec["labels"]["com.openfaas.scale.max"] == "1", name


def watchdog_timeouts(spec: dict) -> dict[str, float]:
    env = function_env(spec)
    return {key: seconds(env[key]) for key in ("read_timeout", "write_timeout", "exec_timeout")}


def test_every_function_sets_consistent_watchdog_timeouts():
    for name, spec in stack_functions().items():
        timeouts = watchdog_timeouts(spec)
        assert timeouts["read_timeout"] >= timeouts["exec_timeout"], name
        assert timeouts["write_timeout"] >= timeouts["exec_timeout"], name


def test_upload_timeouts_fit_the_largest_upload_on_a_slow_link():
    spec = stack_functions()["upload-file"]
    max_bytes = int(function_env(spec)["MAX_UPLOAD_BYTES"])
    transfer = max_bytes * 8 / (MIN_UPLOAD_MBIT * 10**6)
    assert min(watchdog_timeouts(spec).values()) >= transfer


# Keys of a function in faas-cli's stack schema (a typo such as `enviroment` is ignored by it).
FAAS_CLI_FUNCTION_KEYS = {"lang", "handler", "image", "fprocess", "environment", "secrets",
                          "skip_build", "readonly_root_filesystem", "constraints",
                          "environment_file", "labels", "annotations", "limits", "requests",
                          "build_args", "build_options", "build_secrets", "platforms",
                          "namespace"}


def test_functions_use_only_keys_faas_cli_knows():
    for name, spec in stack_functions().items():
        assert set(spec) <= FAAS_CLI_FUNCTION_KEYS, (name, set(spec) - FAAS_CLI_FUNCTION_KEYS)
    assert set(stack()) == {"version", "provider", "configuration", "functions"}
    assert stack()["provider"]["name"] == "openfaas"
