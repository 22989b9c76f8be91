"""The shipped plans: generated from code, only elements JMeter 2.13 and 5.x share, and
JMeter really runs them against FakeFileserver (the contract's API in memory)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.process import free_port, port_open, stop_pid, wait_until
from jmeter.jtl import read_jtl
from jmeter.locate import Jmeter
from jmeter.plans import HERE, render
from jmeter.report import requirements

REPO = Path(__file__).resolve().parents[3]
HERE_TESTS = Path(__file__).resolve().parent
# Test elements of JMeter 2.13 that JMeter 5.6 still has (no JSON extractor, no JSR223).
SHARED_ELEMENTS = {
    "TestPlan", "ThreadGroup", "SetupThreadGroup", "PostThreadGroup", "GenericController",
    "LoopController", "WhileController", "IfController", "HeaderManager", "ConfigTestElement",
    "HTTPSamplerProxy", "RegexExtractor", "ResponseAssertion", "DurationAssertion",
    "ConstantTimer", "Arguments", "Argument", "HTTPArgument", "Header", "HTTPFileArgs",
    "HTTPFileArg",
}


def _classes(xml_text: str) -> set[str]:
    root = ET.fromstring(xml_text)
    names = {el.get("testclass") for el in root.iter() if el.get("testclass")}
    return names | {el.get("elementType") for el in root.iter() if el.get("elementType")}


def _samplers(xml_text: str) -> set[str]:
    return {el.get("testname") for el in ET.fromstring(xml_text).iter("HTTPSamplerProxy")}


@pytest.mark.parametrize("name", ["functional", "load"])
def test_shipped_plan_is_the_generated_one(name: str) -> None:
    assert (HERE / f"{name}.jmx").read_text() == render()[name], "run python -m jmeter.plans"


@pytest.mark.parametrize("name", ["functional", "load"])
def test_plan_uses_only_elements_both_versions_have(name: str) -> None:
    assert _classes(render()[name]) <= SHARED_ELEMENTS


def test_functional_plan_names_a_step_for_every_requirement() -> None:
    labels = {label: {"samples": 1, "errors": 0} for label in _samplers(render()["functional"])}
    tags = set(requirements(labels)) | {"R19"}  # R19 is the plan itself (its thread group)
    assert tags == {f"R{n:02d}" for n in range(1, 20)}


def test_every_element_class_exists_in_jmeter_jars(jmeter_install: Jmeter) -> None:
    lines = (jmeter_install.home / "bin" / "saveservice.properties").read_text()
    aliases = {alias: cls for names, cls in re.findall(r"^([\w,]+)=([\w.]+)$", lines, re.M)
               for alias in names.split(",")}
    jar_entries: set[str] = set()
    for jar in [*(jmeter_install.home / "lib" / "ext").glob("*.jar"),
                jmeter_install.home / "bin" / "ApacheJMeter.jar"]:
        jar_entries |= set(zipfile.ZipFile(jar).namelist())
    for name in _classes(render()["functional"]) | _classes(render()["load"]):
        assert name in aliases, name
        assert aliases[name].replace(".", "/") + ".class" in jar_entries, aliases[name]


@pytest.fixture(scope="module")
def fake_fileserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """FakeFileserver (the contract's API in memory) as its own process; yields its URL."""
    port = free_port()
    log = tmp_path_factory.mktemp("fake") / "fake.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, str(HERE_TESTS / "fake_fileserver.py"),
                                 str(port), "fake-token"], stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: port_open(port), timeout=10)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_pid(proc.pid)
        proc.wait(timeout=5)


def _run(tmp_path: Path, url: str, *extra: str) -> tuple[int, dict]:
    cmd = [sys.executable, "-m", "jmeter.run", "--gateway", url, "--emulator", url,
           "--token", "fake-token", "--out", str(tmp_path / "out"), "-J", "wait_s=10", *extra]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=180)
    assert (tmp_path / "out" / "summary.json").exists(), proc.stdout + proc.stderr
    return proc.returncode, json.loads((tmp_path / "out" / "summary.json").read_text())


def test_functional_plan_passes_twice_against_the_contract(
    jmeter_install: Jmeter, fake_fileserver: str, tmp_path: Path
) -> None:
    """Every step runs and passes, and the cleanup lets a second run pass the same way."""
    code, summary = _run(tmp_path, fake_fileserver, "--plan", "functional", "--runs", "2",
                         "--max-upload-bytes", str(3 * 1024 * 1024))
    assert code == 0, summary["runs"][0]["summary"]["failures"]
    for run in summary["runs"]:
        assert set(run["summary"]["samplers"]) >= _samplers(render()["functional"])
        assert set(run["summary"]["requirements"]) == {f"R{n:02d}" for n in range(1, 19)}


def test_load_plan_runs_its_mix_for_its_duration(
    jmeter_install: Jmeter, fake_fileserver: str, tmp_path: Path
) -> None:
    code, summary = _run(tmp_path, fake_fileserver, "--plan", "load", "--threads", "4",
                         "--duration", "4", "--ramp", "0", "--accounts", "2")
    assert code == 0, summary["runs"][0]["summary"]["failures"]
    samplers = summary["runs"][0]["summary"]["samplers"]
    assert samplers["get-url"]["samples"] >= 6 * samplers["stats summary"]["samples"] > 0
    assert {"upload small", "upload medium", "upload large", "delete file"} <= set(samplers)
    assert samplers["R06 delete account 2"]["samples"] == 1  # tearDown removed both accounts
    assert "R06 create account 3" not in samplers and "R06 delete account 3" not in samplers
    samples = read_jtl(tmp_path / "out" / "run-1" / "results.jtl")
    readers = [s.timestamp_ms for s in samples if s.label == "get-url"]
    writers = [s.timestamp_ms for s in samples if s.label.startswith("upload ")]
    assert min(writers) < max(readers) and min(readers) < max(writers)  # side by side
    assert max(readers) - min(readers) >= 3000  # the readers ran for their duration


def test_a_stalled_poll_fails_the_plan(jmeter_install: Jmeter, tmp_path: Path) -> None:
    """Against a server where nothing ever completes, polls give up after wait_s and fail."""
    code, summary = _run(tmp_path, f"http://127.0.0.1:{free_port()}", "--plan", "functional",
                         "-J", "wait_s=1")
    assert code == 1
    run = summary["runs"][0]["summary"]
    assert run["samplers"]["R09 small file uploaded to every account"]["errors"] == 1
    assert run["samplers"]["R14 queue replicates small file (poll)"]["samples"] >= 2
