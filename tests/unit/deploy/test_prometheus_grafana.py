"""docs/deploy.md step 4 on faasd's Prometheus and Grafana: the guide's own commands, run on
a file of faasd's stock shape (no newline at its end), give a config promtool accepts; Grafana
is bound to 127.0.0.1, keeps its data and reads its admin password from a secret."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.unit.deploy.artefacts import FAASD_SECRETS, GUIDE, REPO_ROOT, load_yaml

STOCK = Path(__file__).parent / "data" / "faasd-stock-prometheus.yml"
GRAFANA = REPO_ROOT / "deploy" / "grafana" / "docker-compose.grafana.yml"
FAASD = "/var/lib/faasd"


def guide_prometheus_lines() -> list[str]:
    """The shell lines of step 4 that write faasd's prometheus.yml (continuations joined)."""
    step = GUIDE.read_text().split("## 4.", 1)[1].split("\n## ", 1)[0]
    block = step.split("```sh", 1)[1].split("```", 1)[0].replace("\\\n", " ")
    return [line for line in block.splitlines()
            if f"{FAASD}/prometheus.yml" in line and not line.startswith("ctr ")]


def test_stock_shape_really_lacks_the_final_newline():
    assert not STOCK.read_bytes().endswith(b"\n")


@pytest.mark.skipif(shutil.which("promtool") is None,
                    reason="promtool missing (Debian's prometheus package: scripts/system-deps.sh)")
def test_the_guides_prometheus_append_gives_a_valid_config(tmp_path):
    faasd = tmp_path / "faasd"
    faasd.mkdir()
    shutil.copy(STOCK, faasd / "prometheus.yml")
    lines = guide_prometheus_lines()
    assert any(">> " in line for line in lines), lines
    script = "\n".join(line.replace(FAASD, str(faasd)) for line in lines)
    subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=REPO_ROOT, check=True)
    check = subprocess.run(["promtool", "check", "config", str(faasd / "prometheus.yml")],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    jobs = [job["job_name"] for job in load_yaml(faasd / "prometheus.yml")["scrape_configs"]]
    assert jobs == ["prometheus", "gateway", "provider", "fileserver-functions",
                    "fileserver-replicator"]


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool missing")
def test_without_ending_the_last_line_promtool_refuses_it(tmp_path):
    """The defect the guide's `sed -i -e '$a\\'` prevents, shown on the same stock shape."""
    target = tmp_path / "prometheus.yml"
    shutil.copy(STOCK, target)
    additions = (REPO_ROOT / "deploy/prometheus/faasd-additions.yml").read_text()
    with target.open("a") as out:
        out.write(additions[additions.index("  - job_name: fileserver-functions"):])
    check = subprocess.run(["promtool", "check", "config", str(target)], capture_output=True,
                           text=True)
    assert check.returncode != 0


def test_grafana_is_local_only_keeps_its_data_and_reads_its_password_from_a_secret():
    service = yaml.safe_load(GRAFANA.read_text())["services"]["grafana"]
    assert service["ports"] == ["127.0.0.1:3000:3000"]
    targets = {v["target"]: v["source"] for v in service["volumes"]}
    assert targets["/var/lib/grafana"] == "./grafana/data"
    env = dict(entry.split("=", 1) for entry in service["environment"])
    password_file = env["GF_SECURITY_ADMIN_PASSWORD__FILE"]
    assert targets[password_file] == FAASD_SECRETS + "grafana-admin-password"
    assert "GF_SECURITY_ADMIN_PASSWORD" not in env
    assert re.search(r"faas-cli secret create grafana-admin-password", GUIDE.read_text())
    assert "chown 472:472 /var/lib/faasd/grafana/data" in GUIDE.read_text()
    provider = load_yaml(REPO_ROOT / "deploy/grafana/provisioning/dashboards/fileserver.yml")
    assert targets[provider["providers"][0]["options"]["path"]] == "./grafana/dashboards"
