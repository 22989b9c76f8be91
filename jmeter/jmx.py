"""Builders for JMeter test-plan XML (.jmx) using only elements JMeter 2.13 and 5.x share.

Each builder returns ``(element, children)``; :func:`plan_xml` writes the nested
``<hashTree>`` structure JMeter expects (every element is followed by the tree of its children).
"""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

# Response Assertion test types (org.apache.jmeter.assertions.ResponseAssertion).
MATCH = 1
CONTAINS = 2
NOT = 4
EQUALS = 8


@dataclass
class Node:
    """One test element and the elements nested under it."""

    element: ET.Element
    children: list[Node] = field(default_factory=list)


def _element(tag: str, gui: str, name: str, testclass: str | None = None) -> ET.Element:
    return ET.Element(
        tag, guiclass=gui, testclass=testclass or tag, testname=name, enabled="true"
    )


def _prop(parent: ET.Element, kind: str, name: str, value: object) -> ET.Element:
    prop = ET.SubElement(parent, kind, name=name)
    prop.text = str(value).lower() if isinstance(value, bool) else str(value)
    return prop


def _arguments(parent: ET.Element, name: str, pairs: list[tuple[str, str]], gui: str) -> None:
    args = ET.SubElement(
        parent, "elementProp", name=name, elementType="Arguments", guiclass=gui,
        testclass="Arguments", testname="User Defined Variables", enabled="true",
    )
    coll = ET.SubElement(args, "collectionProp", name="Arguments.arguments")
    for key, value in pairs:
        arg = ET.SubElement(coll, "elementProp", name=key, elementType="Argument")
        _prop(arg, "stringProp", "Argument.name", key)
        _prop(arg, "stringProp", "Argument.value", value)
        _prop(arg, "stringProp", "Argument.metadata", "=")


def test_plan(name: str, variables: list[tuple[str, str]], *children: Node) -> Node:
    plan = _element("TestPlan", "TestPlanGui", name)
    _prop(plan, "boolProp", "TestPlan.functional_mode", False)
    _prop(plan, "boolProp", "TestPlan.serialize_threadgroups", False)
    _arguments(plan, "TestPlan.user_defined_variables", variables, "ArgumentsPanel")
    _prop(plan, "stringProp", "TestPlan.user_define_classpath", "")
    return Node(plan, list(children))


def thread_group(
    name: str, threads: str, ramp: str, loops: str, *children: Node, duration: str = ""
) -> Node:
    """A Thread Group; with ``duration`` it loops forever and the scheduler stops it."""
    group = _element("ThreadGroup", "ThreadGroupGui", name)
    _prop(group, "stringProp", "ThreadGroup.on_sample_error", "continue")
    loop = ET.SubElement(
        group, "elementProp", name="ThreadGroup.main_controller", elementType="LoopController",
        guiclass="LoopControlPanel", testclass="LoopController", testname="Loop Controller",
        enabled="true",
    )
    _prop(loop, "boolProp", "LoopController.continue_forever", False)
    _prop(loop, "stringProp", "LoopController.loops", "-1" if duration else loops)
    _prop(group, "stringProp", "ThreadGroup.num_threads", threads)
    _prop(group, "stringProp", "ThreadGroup.ramp_time", ramp)
    _prop(group, "longProp", "ThreadGroup.start_time", 0)
    _prop(group, "longProp", "ThreadGroup.end_time", 0)
    _prop(group, "boolProp", "ThreadGroup.scheduler", bool(duration))
    _prop(group, "stringProp", "ThreadGroup.duration", duration)
    _prop(group, "stringProp", "ThreadGroup.delay", "")
    return Node(group, list(children))


def transaction(name: str, *children: Node) -> Node:
    """A Simple Controller: groups the steps of one requirement under a readable name."""
    return Node(_element("GenericController", "LogicControllerGui", name), list(children))


def loop(name: str, loops: str, *children: Node) -> Node:
    ctl = _element("LoopController", "LoopControlPanel", name)
    _prop(ctl, "boolProp", "LoopController.continue_forever", True)
    _prop(ctl, "stringProp", "LoopController.loops", loops)
    return Node(ctl, list(children))


def while_loop(name: str, condition: str, *children: Node) -> Node:
    """Repeats while ``condition`` does not expand to ``false``."""
    ctl = _element("WhileController", "WhileControllerGui", name)
    _prop(ctl, "stringProp", "WhileController.condition", condition)
    return Node(ctl, list(children))


def if_true(name: str, variable_expression: str, *children: Node) -> Node:
    """Runs its children when the expression expands to ``true`` (no JavaScript needed)."""
    ctl = _element("IfController", "IfControllerPanel", name)
    _prop(ctl, "stringProp", "IfController.condition", variable_expression)
    _prop(ctl, "boolProp", "IfController.evaluateAll", False)
    _prop(ctl, "boolProp", "IfController.useExpression", True)
    return Node(ctl, list(children))


def headers(name: str, pairs: list[tuple[str, str]]) -> Node:
    mgr = _element("HeaderManager", "HeaderPanel", name)
    coll = ET.SubElement(mgr, "collectionProp", name="HeaderManager.headers")
    for key, value in pairs:
        header = ET.SubElement(coll, "elementProp", name="", elementType="Header")
        _prop(header, "stringProp", "Header.name", key)
        _prop(header, "stringProp", "Header.value", value)
    return Node(mgr)


def http_defaults(protocol: str, host: str, port: str, timeout_ms: str) -> Node:
    cfg = _element("ConfigTestElement", "HttpDefaultsGui", "HTTP defaults")
    _arguments(cfg, "HTTPsampler.Arguments", [], "HTTPArgumentsPanel")
    _prop(cfg, "stringProp", "HTTPSampler.protocol", protocol)
    _prop(cfg, "stringProp", "HTTPSampler.domain", host)
    _prop(cfg, "stringProp", "HTTPSampler.port", port)
    _prop(cfg, "stringProp", "HTTPSampler.connect_timeout", timeout_ms)
    _prop(cfg, "stringProp", "HTTPSampler.response_timeout", timeout_ms)
    _prop(cfg, "stringProp", "HTTPSampler.implementation", "HttpClient4")
    return Node(cfg)


@dataclass
class Target:
    """Where a sampler sends its request; empty fields fall back to the HTTP defaults."""

    protocol: str = ""
    host: str = ""
    port: str = ""


def http(
    name: str, method: str, path: str, *children: Node, body: str | None = None,
    upload: str | None = None, target: Target | None = None,
) -> Node:
    """An HTTP Request: raw JSON ``body`` (sent with its Content-Type) or a multipart
    ``upload`` of a file path."""
    target = target or Target()
    if body:
        children = (headers("json body", [("Content-Type", "application/json")]), *children)
    sampler = _element("HTTPSamplerProxy", "HttpTestSampleGui", name)
    args = ET.SubElement(
        sampler, "elementProp", name="HTTPsampler.Arguments", elementType="Arguments",
        guiclass="HTTPArgumentsPanel", testclass="Arguments", enabled="true",
    )
    coll = ET.SubElement(args, "collectionProp", name="Arguments.arguments")
    if body is not None:
        _prop(sampler, "boolProp", "HTTPSampler.postBodyRaw", True)
        arg = ET.SubElement(coll, "elementProp", name="", elementType="HTTPArgument")
        _prop(arg, "boolProp", "HTTPArgument.always_encode", False)
        _prop(arg, "stringProp", "Argument.value", body)
        _prop(arg, "stringProp", "Argument.metadata", "=")
    if upload is not None:
        _file_arg(sampler, upload)
    for key, value in (
        ("HTTPSampler.protocol", target.protocol), ("HTTPSampler.domain", target.host),
        ("HTTPSampler.port", target.port), ("HTTPSampler.path", path),
        ("HTTPSampler.method", method), ("HTTPSampler.contentEncoding", "UTF-8"),
    ):
        _prop(sampler, "stringProp", key, value)
    _prop(sampler, "boolProp", "HTTPSampler.follow_redirects", False)
    _prop(sampler, "boolProp", "HTTPSampler.auto_redirects", False)
    _prop(sampler, "boolProp", "HTTPSampler.use_keepalive", True)
    _prop(sampler, "boolProp", "HTTPSampler.DO_MULTIPART_POST", upload is not None)
    _prop(sampler, "boolProp", "HTTPSampler.BROWSER_COMPATIBLE_MULTIPART", upload is not None)
    return Node(sampler, list(children))


def _file_arg(sampler: ET.Element, path: str) -> None:
    files = ET.SubElement(sampler, "elementProp", name="HTTPsampler.Files",
                          elementType="HTTPFileArgs")
    coll = ET.SubElement(files, "collectionProp", name="HTTPFileArgs.files")
    arg = ET.SubElement(coll, "elementProp", name=path, elementType="HTTPFileArg")
    _prop(arg, "stringProp", "File.path", path)
    _prop(arg, "stringProp", "File.paramname", "file")
    _prop(arg, "stringProp", "File.mimetype", "application/octet-stream")


def extract(variable: str, regex: str, default: str = "NOT_FOUND", template: str = "$1$",
            match: str = "1") -> Node:
    """A Regular Expression Extractor on the response body (2.13 has no JSON extractor)."""
    ext = _element("RegexExtractor", "RegexExtractorGui", f"extract {variable}")
    for key, value in (
        ("RegexExtractor.useHeaders", "false"), ("RegexExtractor.refname", variable),
        ("RegexExtractor.regex", regex), ("RegexExtractor.template", template),
        ("RegexExtractor.default", default), ("RegexExtractor.match_number", match),
    ):
        _prop(ext, "stringProp", key, value)
    return Node(ext)


def expect(name: str, patterns: list[str], field_name: str = "response_data",
           test_type: int = CONTAINS, ignore_status: bool = False) -> Node:
    """A Response Assertion on the body, ``response_code`` or ``response_headers``."""
    assertion = _element("ResponseAssertion", "AssertionGui", name)
    coll = ET.SubElement(assertion, "collectionProp", name="Asserion.test_strings")
    for index, pattern in enumerate(patterns):
        _prop(coll, "stringProp", str(index), pattern)
    _prop(assertion, "stringProp", "Assertion.test_field", f"Assertion.{field_name}")
    _prop(assertion, "boolProp", "Assertion.assume_success", ignore_status)
    _prop(assertion, "intProp", "Assertion.test_type", test_type)
    return Node(assertion)


def expect_status(code: str) -> Node:
    """The response code equals ``code``; other statuses (404, 409...) are not errors."""
    return expect(f"status {code}", [code], "response_code", EQUALS, ignore_status=True)


def max_duration(ms: str) -> Node:
    assertion = _element("DurationAssertion", "DurationAssertionGui", f"within {ms} ms")
    _prop(assertion, "stringProp", "DurationAssertion.duration", ms)
    return Node(assertion)


def pause(ms: str) -> Node:
    timer = _element("ConstantTimer", "ConstantTimerGui", f"pause {ms} ms")
    _prop(timer, "stringProp", "ConstantTimer.delay", ms)
    return Node(timer)


def plan_xml(root: Node) -> str:
    """The .jmx text for a test plan ``root``."""
    doc = ET.Element("jmeterTestPlan", version="1.2", properties="2.8", jmeter="2.13")
    _tree(ET.SubElement(doc, "hashTree"), [root])
    ET.indent(doc, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(doc, encoding="unicode") + "\n"


def _tree(parent: ET.Element, nodes: list[Node]) -> None:
    for node in nodes:
        parent.append(copy.deepcopy(node.element))  # a shared Node may appear twice
        _tree(ET.SubElement(parent, "hashTree"), node.children)
