"""Write the shipped plans: ``python -m jmeter.plans`` regenerates jmeter/*.jmx from code."""

from __future__ import annotations

from pathlib import Path

from jmeter.jmx import plan_xml
from jmeter.plan_functional import functional_plan
from jmeter.plan_load import load_plan

HERE = Path(__file__).resolve().parent
PLANS = {"functional": functional_plan, "load": load_plan}


def render() -> dict[str, str]:
    """Plan name → .jmx text."""
    return {name: plan_xml(build()) for name, build in PLANS.items()}


def main() -> None:
    for name, text in render().items():
        (HERE / f"{name}.jmx").write_text(text)
        print(f"wrote jmeter/{name}.jmx")


if __name__ == "__main__":
    main()
