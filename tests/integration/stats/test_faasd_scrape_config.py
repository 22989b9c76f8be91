"""deploy/prometheus/faasd-additions.yml and the Grafana dashboard against a real Prometheus.

faasd's hosts (gateway:8080, gateway:8082, replicator:8000) are replaced by one local server
standing in for them, which answers the metrics paths and records which paths were asked.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
import yaml

from devstack.process import free_port, wait_until
from tests.integration.stats.conftest import prometheus_process

ROOT = Path(__file__).resolve().parents[3]
ADDITIONS = ROOT / "deploy" / "prometheus" / "faasd-additions.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "fileserver.json"
# Every function stack.yml deploys (a new one, e.g. download, must get a scrape target too).
FUNCTIONS = set(yaml.safe_load((ROOT / "stack.yml").read_text())["functions"])


class FaasdHosts(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        parts = self.path.strip("/").split("/")
        if parts[0] == "function" and parts[2:] == ["_", "metrics"]:
            text = (f'fileserver_http_requests_total{{function="{parts[1]}",route="/",'
                    f'method="GET",status="200"}} 7\n')
        elif self.path == "/metrics":
            text = ('gateway_function_invocation_total{function_name="get-url",code="200"} 3\n'
                    'fileserver_files_by_status{status="uploaded"} 4\n')
        else:
            self.send_error(404)
            return
        data = text.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def local_config(address: str) -> str:
    """The additions as a whole config, faasd's hosts pointed at the stand-in, 1 s scrapes."""
    text = ADDITIONS.read_text()
    for host in ("gateway:8080", "gateway:8082", "replicator:8000"):
        text = text.replace(f'"{host}"', f'"{address}"')
    config = yaml.safe_load(text)
    for job in config["scrape_configs"]:
        job["scrape_interval"] = "1s"
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    return yaml.safe_dump(config)


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    base = tmp_path_factory.mktemp("prometheus-faasd")
    hosts = ThreadingHTTPServer(("127.0.0.1", free_port()), FaasdHosts)
    threading.Thread(target=hosts.serve_forever, daemon=True).start()
    try:
        with prometheus_process(base, local_config(f"127.0.0.1:{hosts.server_port}")) as url:
            wait_until(lambda: all(t["health"] == "up" for t in targets(url)) and
                       len(targets(url)) == len(FUNCTIONS) + 2, 60)
            yield url
    finally:
        hosts.shutdown()
        hosts.server_close()


def targets(url: str) -> list[dict]:
    return requests.get(f"{url}/api/v1/targets", timeout=2).json()["data"]["activeTargets"]


def query(url: str, expr: str) -> dict:
    return requests.get(f"{url}/api/v1/query", params={"query": expr}, timeout=5).json()


def test_functions_are_scraped_through_the_gateway_at_their_own_path(prometheus):
    paths = {t["scrapeUrl"].split("/", 3)[3] for t in targets(prometheus)
             if t["labels"]["job"] == "fileserver-functions"}
    assert paths == {f"function/{name}/_/metrics" for name in FUNCTIONS}


def test_function_series_keep_their_own_function_label(prometheus):
    def scraped() -> bool:
        found = query(prometheus, "fileserver_http_requests_total")["data"]["result"]
        return {r["metric"]["function"] for r in found} == FUNCTIONS
    wait_until(scraped, 10)
    result = query(prometheus, 'fileserver_http_requests_total{function="get-url"}')
    [series] = result["data"]["result"]
    assert "exported_function" not in series["metric"]
    assert series["metric"]["service"] == "downloader"


def test_every_dashboard_query_is_valid_promql(prometheus):
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert len(exprs) >= 20
    for expr in exprs:
        answer = query(prometheus, expr.replace("$__rate_interval", "1m"))
        assert answer["status"] == "success", (expr, answer)
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    uids = {t["datasource"]["uid"] for p in dashboard["panels"] for t in p.get("targets", [])}
    provisioned = yaml.safe_load(
        (ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text())
    assert uids == {provisioned["datasources"][0]["uid"]}
