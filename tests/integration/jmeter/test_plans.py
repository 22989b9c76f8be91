"""The shipped plans: generated from code, only elements JMeter 2.13 and 5.x share, and
JMeter really loads and walks every step (against a closed port, so every sample fails)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

from devstack.process import free_port
from jmeter.locate import Jmeter
from jmeter.plans import HERE, render
from jmeter.report import requirements

REPO = Path(__file__).resolve().parents[3]
# Test elements of JMeter 2.13 that JMeter 5.6 still has (no JSON extractor, no JSR223).
SHARED_ELEMENTS = {
    "TestPlan", "ThreadGroup", "SetupThreadGroup", "GenericController", "LoopController",
    "WhileController", "RunTime", "IfController", "HeaderManager", "ConfigTestElement",
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


def _run_against_closed_port(tmp_path: Path, plan: str, *extra: str) -> dict:
    url = f"http://127.0.0.1:{free_port()}"
    cmd = [sys.executable, "-m", "jmeter.run", "--plan", plan, "--gateway", url, "--emulator",
           url, "--token", "t", "--out", str(tmp_path / "out"), "-J", "wait_s=1", *extra]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # nothing listens: all fail
    return json.loads((tmp_path / "out" / "summary.json").read_text())


def test_jmeter_walks_every_functional_step(jmeter_install: Jmeter, tmp_path: Path) -> None:
    summary = _run_against_closed_port(tmp_path, "functional")
    ran = set(summary["runs"][0]["summary"]["samplers"])
    expected = _samplers(render()["functional"]) - {"R07 upload over the size limit (413)"}
    assert ran == expected
    assert summary["overall"]["errors"] == summary["overall"]["samples"]


def test_jmeter_runs_the_load_plan_for_its_duration(jmeter_install: Jmeter,
                                                    tmp_path: Path) -> None:
    summary = _run_against_closed_port(tmp_path, "load", "--threads", "2", "--duration", "3",
                                       "--ramp", "0")
    samplers = summary["runs"][0]["summary"]["samplers"]
    assert samplers["get-url"]["samples"] > samplers["stats summary"]["samples"]
    assert {"upload small", "upload large", "delete file", "accounts report"} <= set(samplers)
