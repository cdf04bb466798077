#!/usr/bin/env python3
"""Checks the operations kit: deploy/ and docs/runbooks/.

- deploy/grafana/bulwark.json: well-formed, Grafana 10/11 schema, datasource taken from the
  ${DS_PROMETHEUS} input everywhere, the expected panels with the expected series, no panel
  overlapping another, only known Bulwark series and defined variables, and every query valid
  PromQL (parsed by promtool, with the dashboard variables substituted).
- deploy/prometheus/alerts.yml: every alert has a severity, summary, description and a
  runbook_url to an existing page of docs/runbooks/, which names the alert and has the standard
  sections; the index lists every page; alerts_test.yml tests every alert firing and not firing.
- the series the kit reads from runtime/, supervisors/ and services/src/jobs/ are still declared
  there (the gateway's are taken from DESIGN.md and the issue).
- deploy/k8s/bulwark.yaml: the objects, probes, ports, selectors, resources and termination grace
  period that matter, consistent with the ConfigMap's bulwark.toml.

`promtool check rules` and `promtool test rules` check the rules themselves (scripts/test.sh runs
them first); tests/tests/deploy.rs loads the ConfigMap's bulwark.toml with the binary's own loader.

Usage: python3 scripts/check_deploy.py     (exit status 1 and one line per problem on failure)
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib

import yaml

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
RUNBOOK_BASE = "https://example.invalid/bulwark/docs/runbooks/"
RUNBOOK_DIR = os.path.join(ROOT, "docs", "runbooks")
RUNBOOK_SECTIONS = ["## What it means", "## Confirm", "## Actions", "## Verify recovery"]
SEVERITIES = {"critical", "warning"}

# Every series Bulwark exports (DESIGN.md and the metrics modules); histograms by their base name.
KNOWN_SERIES = {
    "bulwark_calls_total",
    "bulwark_call_duration_seconds",
    "bulwark_circuit_state",
    "bulwark_circuit_transitions_total",
    "bulwark_bulkhead_in_flight",
    "bulwark_bulkhead_limit",
    "bulwark_bulkhead_rejected_total",
    "bulwark_retries_total",
    "bulwark_retry_budget_exhausted_total",
    "bulwark_fallbacks_total",
    "bulwark_actor_restarts_total",
    "bulwark_supervisor_escalations_total",
    "bulwark_http_requests_total",
    "bulwark_http_request_duration_seconds",
    "bulwark_ready",
    "bulwark_dependency_ready",
    "bulwark_edge_rejected_total",
    "bulwark_jobs_accepted_total",
    "bulwark_jobs_rejected_total",
    "bulwark_jobs_finished_total",
    "bulwark_jobs_retried_total",
    "bulwark_jobs_outstanding",
}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
# The Rust files that name the runtime's and the supervisors' series: each series the kit reads
# from them must still be declared there (a renamed series would leave panels and alerts empty).
SERIES_SOURCES = [
    "runtime/src/dependency/metrics.rs",
    "supervisors/src/metrics.rs",
    "services/src/jobs/metrics.rs",
]
GATEWAY_SERIES = {
    "bulwark_http_requests_total",
    "bulwark_http_request_duration_seconds",
    "bulwark_ready",
    "bulwark_dependency_ready",
    "bulwark_edge_rejected_total",
}

# The dashboard's panels: title -> (panel type, series its queries must read).
EXPECTED_PANELS = {
    "Ready instances": ("stat", {"bulwark_ready"}),
    "Readiness by instance": ("state-timeline", {"bulwark_ready"}),
    "HTTP requests by route and status": ("timeseries", {"bulwark_http_requests_total"}),
    "HTTP 5xx ratio by route": ("timeseries", {"bulwark_http_requests_total"}),
    "HTTP latency p50 / p99 by route": ("timeseries", {"bulwark_http_request_duration_seconds"}),
    "HTTP errors by code": ("timeseries", {"bulwark_http_requests_total"}),
    "Edge rejections": ("timeseries", {"bulwark_edge_rejected_total"}),
    "Circuit state": ("state-timeline", {"bulwark_circuit_state"}),
    "Dependency readiness": ("state-timeline", {"bulwark_dependency_ready"}),
    "Calls by outcome": ("timeseries", {"bulwark_calls_total"}),
    "Call failure ratio": ("timeseries", {"bulwark_calls_total"}),
    "Call latency p50 / p99": ("timeseries", {"bulwark_call_duration_seconds"}),
    "Circuit transitions": ("timeseries", {"bulwark_circuit_transitions_total"}),
    "Bulkhead in flight vs limit": ("timeseries", {"bulwark_bulkhead_in_flight", "bulwark_bulkhead_limit"}),
    "Bulkhead rejections": ("timeseries", {"bulwark_bulkhead_rejected_total"}),
    "Retries and budget exhaustion": (
        "timeseries",
        {"bulwark_retries_total", "bulwark_retry_budget_exhausted_total"},
    ),
    "Fallbacks by source": ("timeseries", {"bulwark_fallbacks_total"}),
    "Actor restarts": ("timeseries", {"bulwark_actor_restarts_total"}),
    "Supervisor escalations": ("timeseries", {"bulwark_supervisor_escalations_total"}),
}
EXPECTED_VARIABLES = {"job", "instance", "dependency", "route"}
GRAFANA_BUILTIN_VARIABLES = {"__rate_interval", "__interval", "__range"}
DATASOURCE = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}

problems = []


def problem(where, message):
    problems.append(f"{where}: {message}")


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


def series_in(expr):
    """The bulwark_* series an expression reads, histogram suffixes folded into the base name."""
    names = set()
    for name in re.findall(r"\bbulwark_[a-z0-9_]+", expr):
        for suffix in HISTOGRAM_SUFFIXES:
            base = name[: -len(suffix)]
            if name.endswith(suffix) and base in KNOWN_SERIES:
                name = base
        names.add(name)
    return names


def promql_parses(exprs):
    """Asks promtool to parse each expression (as a recording rule); returns its complaint or None."""
    promtool = shutil.which("promtool")
    if promtool is None:
        return "promtool is not installed (Debian package prometheus): cannot check the queries"
    rules = {
        "groups": [
            {
                "name": "dashboard-queries",
                "rules": [{"record": f"dashboard:query_{i}", "expr": e} for i, e in enumerate(exprs)],
            }
        ]
    }
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        yaml.safe_dump(rules, f)
        path = f.name
    try:
        run = subprocess.run([promtool, "check", "rules", path], capture_output=True, text=True)
    finally:
        os.unlink(path)
    if run.returncode != 0:
        return (run.stdout + run.stderr).strip()
    return None


# --------------------------------------------------------------------------------------------------
def check_dashboard():
    where = "deploy/grafana/bulwark.json"
    try:
        dash = json.loads(read(where))
    except (OSError, json.JSONDecodeError) as e:
        problem(where, f"not readable JSON: {e}")
        return
    inputs = {i.get("name"): i for i in dash.get("__inputs", [])}
    ds_input = inputs.get("DS_PROMETHEUS")
    if not ds_input or ds_input.get("type") != "datasource" or ds_input.get("pluginId") != "prometheus":
        problem(where, "no __inputs entry DS_PROMETHEUS of type datasource, plugin prometheus")
    if not isinstance(dash.get("schemaVersion"), int) or dash["schemaVersion"] < 36:
        problem(where, f"schemaVersion {dash.get('schemaVersion')!r}: Grafana 10/11 dashboards use 36 or later")
    for key in ("uid", "title"):
        if not dash.get(key):
            problem(where, f"missing {key}")

    variables = {v.get("name"): v for v in dash.get("templating", {}).get("list", [])}
    for name in sorted(EXPECTED_VARIABLES - variables.keys()):
        problem(where, f"template variable ${name} missing")
    for name, var in variables.items():
        if var.get("type") == "query" and var.get("datasource") != DATASOURCE:
            problem(where, f"variable ${name}: datasource is not ${{DS_PROMETHEUS}}")

    exprs = []  # (where, expression) of every query, variables included
    for name, var in variables.items():
        if var.get("type") == "query":
            query = var.get("definition", "")
            exprs.append((f"{where} variable ${name}", query))
    for annotation in dash.get("annotations", {}).get("list", []):
        if "expr" in annotation:
            if annotation.get("datasource") != DATASOURCE:
                problem(where, f"annotation {annotation.get('name')!r}: datasource is not ${{DS_PROMETHEUS}}")
            exprs.append((f"{where} annotation {annotation.get('name')!r}", annotation["expr"]))

    panels = dash.get("panels", [])
    flat = []
    for panel in panels:
        flat.append(panel)
        flat.extend(panel.get("panels", []))  # panels of collapsed rows
    ids = [p.get("id") for p in flat]
    if len(ids) != len(set(ids)) or None in ids:
        problem(where, "panel ids are missing or not unique")
    occupied = {}
    by_title = {}
    for panel in flat:
        title = panel.get("title", "")
        here = f"{where} panel {title!r}"
        grid = panel.get("gridPos", {})
        x, y, w, h = (grid.get(k) for k in ("x", "y", "w", "h"))
        if not all(isinstance(v, int) for v in (x, y, w, h)) or x < 0 or w <= 0 or h <= 0 or x + w > 24:
            problem(here, f"gridPos {grid} is not within the 24 columns")
        else:
            for cx in range(x, x + w):
                for cy in range(y, y + h):
                    other = occupied.setdefault((cx, cy), title)
                    if other != title:
                        problem(here, f"overlaps panel {other!r}")
                        break
                else:
                    continue
                break
        if panel.get("type") == "row":
            continue
        by_title[title] = panel
        if panel.get("datasource") != DATASOURCE:
            problem(here, "datasource is not ${DS_PROMETHEUS}")
        targets = panel.get("targets", [])
        if not targets:
            problem(here, "no queries")
        refs = [t.get("refId") for t in targets]
        if len(refs) != len(set(refs)):
            problem(here, "refIds are not unique")
        for t in targets:
            if t.get("datasource") != DATASOURCE:
                problem(here, f"query {t.get('refId')}: datasource is not ${{DS_PROMETHEUS}}")
            if not t.get("expr"):
                problem(here, f"query {t.get('refId')}: no expression")
            exprs.append((here, t.get("expr", "")))

    for title, (kind, series) in EXPECTED_PANELS.items():
        panel = by_title.get(title)
        if panel is None:
            problem(where, f"panel {title!r} missing")
            continue
        if panel.get("type") != kind:
            problem(where, f"panel {title!r} is a {panel.get('type')}, expected {kind}")
        read_series = set().union(*(series_in(t.get("expr", "")) for t in panel.get("targets", [])))
        for name in sorted(series - read_series):
            problem(where, f"panel {title!r} does not query {name}")
    circuit = by_title.get("Circuit state", {})
    mapped = set()
    for mapping in circuit.get("fieldConfig", {}).get("defaults", {}).get("mappings", []):
        mapped |= set(mapping.get("options", {}).keys())
    if mapped != {str(v) for v in range(6)}:
        problem(where, f"panel 'Circuit state' maps values {sorted(mapped)}, expected the six states 0-5")

    substituted = []
    for here, expr in exprs:
        for name in sorted(series_in(expr) - KNOWN_SERIES):
            problem(here, f"unknown series {name}")
        for name in re.findall(r"\$\{?(\w+)", expr):
            if name not in variables and name not in GRAFANA_BUILTIN_VARIABLES:
                problem(here, f"undefined variable ${name}")
        query = expr
        match = re.fullmatch(r"label_values\((.*),\s*\w+\)", expr.strip())
        if match:
            query = match.group(1)
        query = re.sub(r"\$\{?__\w+\}?", "5m", query)
        query = re.sub(r"\$\{?(\w+)\}?", r".*", query)
        substituted.append(query)
    complaint = promql_parses(substituted)
    if complaint:
        problem(where, f"a query is not valid PromQL:\n{complaint}")


# --------------------------------------------------------------------------------------------------
def check_alerts():
    where = "deploy/prometheus/alerts.yml"
    alerts = yaml.safe_load(read(where))
    recorded = set()
    for group in yaml.safe_load(read("deploy/prometheus/rules.yml"))["groups"]:
        recorded |= {r["record"] for r in group["rules"]}
    tests = yaml.safe_load(read("deploy/prometheus/alerts_test.yml"))
    fired, quiet = set(), set()
    for test in tests.get("tests", []):
        for case in test.get("alert_rule_test", []):
            (fired if case.get("exp_alerts") else quiet).add(case.get("alertname"))

    pages = {f for f in os.listdir(RUNBOOK_DIR) if f.endswith(".md") and f != "README.md"}
    index = read("docs/runbooks/README.md")
    linked = set()
    names = set()
    for group in alerts["groups"]:
        for rule in group["rules"]:
            name = rule.get("alert")
            if name is None:
                problem(where, f"group {group['name']}: recording rule {rule.get('record')} belongs in rules.yml")
                continue
            here = f"{where} {name}"
            if name in names:
                problem(here, "defined twice")
            names.add(name)
            for series in series_in(rule["expr"]) - KNOWN_SERIES:
                if not any(series in r for r in recorded):
                    problem(here, f"unknown series {series}")
            severity = rule.get("labels", {}).get("severity")
            if severity not in SEVERITIES:
                problem(here, f"severity {severity!r}, expected one of {sorted(SEVERITIES)}")
            annotations = rule.get("annotations", {})
            for key in ("summary", "description", "runbook_url"):
                if not annotations.get(key):
                    problem(here, f"no {key} annotation")
            url = annotations.get("runbook_url", "")
            if not url.startswith(RUNBOOK_BASE):
                problem(here, f"runbook_url {url!r} is not under {RUNBOOK_BASE}")
                continue
            page = url[len(RUNBOOK_BASE):]
            linked.add(page)
            if page not in pages:
                problem(here, f"runbook docs/runbooks/{page} does not exist")
                continue
            text = read(f"docs/runbooks/{page}")
            if name not in text:
                problem(here, f"docs/runbooks/{page} does not name the alert")
            positions = [text.find(s) for s in RUNBOOK_SECTIONS]
            if -1 in positions or positions != sorted(positions):
                problem(here, f"docs/runbooks/{page} lacks the sections {RUNBOOK_SECTIONS} in that order")
            if f"({page})" not in index:
                problem(here, f"docs/runbooks/README.md does not link {page}")
            if name not in fired:
                problem(here, "alerts_test.yml has no case where it fires")
            if name not in quiet:
                problem(here, "alerts_test.yml has no case where it must not fire")
    for page in sorted(pages - linked):
        problem("docs/runbooks", f"{page} is not the runbook of any alert")


# --------------------------------------------------------------------------------------------------
def seconds(duration):
    """A humantime duration such as 10s, 500ms or 1m 30s, in seconds."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    parts = re.findall(r"(\d+)\s*(ms|s|m|h)", duration)
    if not parts or re.sub(r"(\d+)\s*(ms|s|m|h)|\s", "", duration):
        raise ValueError(f"unsupported duration {duration!r}")
    return sum(int(n) * units[u] for n, u in parts)


def subset(labels, of):
    return bool(labels) and all(of.get(k) == v for k, v in labels.items())


def check_k8s():
    where = "deploy/k8s/bulwark.yaml"
    docs = [d for d in yaml.safe_load_all(read(where)) if d]
    by_kind = {}
    for doc in docs:
        if doc.get("kind") in by_kind:
            problem(where, f"two objects of kind {doc['kind']}")
        by_kind[doc.get("kind")] = doc
    expected = {"ConfigMap": "v1", "Deployment": "apps/v1", "Service": "v1", "PodDisruptionBudget": "policy/v1"}
    for kind, api in expected.items():
        doc = by_kind.get(kind)
        if doc is None:
            problem(where, f"no {kind}")
            return
        if doc.get("apiVersion") != api:
            problem(where, f"{kind} apiVersion {doc.get('apiVersion')!r}, expected {api}")
        if not doc.get("metadata", {}).get("name"):
            problem(where, f"{kind} has no name")

    config_map = by_kind["ConfigMap"]
    try:
        config = tomllib.loads(config_map.get("data", {}).get("bulwark.toml", ""))
    except tomllib.TOMLDecodeError as e:
        problem(where, f"ConfigMap bulwark.toml is not TOML: {e}")
        return
    server = config.get("server", {})
    addr = server.get("addr", "127.0.0.1:8080")
    host, _, port = addr.rpartition(":")
    if host not in ("0.0.0.0", "[::]"):
        problem(where, f"bulwark.toml listens on {addr}: probes and the Service reach the pod IP, use 0.0.0.0")
    drain = seconds(server.get("drain_timeout", "10s"))

    deployment = by_kind["Deployment"]
    spec = deployment.get("spec", {})
    pod = spec.get("template", {})
    pod_labels = pod.get("metadata", {}).get("labels", {})
    pod_spec = pod.get("spec", {})
    replicas = spec.get("replicas", 1)
    if replicas < 2:
        problem(where, f"Deployment replicas {replicas}: one pod cannot survive a node drain")
    if not subset(spec.get("selector", {}).get("matchLabels", {}), pod_labels):
        problem(where, "Deployment selector does not match its pod template's labels")
    containers = pod_spec.get("containers", [])
    if len(containers) != 1:
        problem(where, "the pod should run exactly one container")
        return
    c = containers[0]
    if not c.get("image"):
        problem(where, "container has no image")
    ports = {p.get("name"): p.get("containerPort") for p in c.get("ports", [])}
    if ports.get("http") != int(port or 0):
        problem(where, f"containerPort http {ports.get('http')} is not bulwark.toml's port {port}")

    def probe_path(name, path):
        probe = c.get(name)
        if not probe:
            problem(where, f"container has no {name}")
            return None
        get = probe.get("httpGet", {})
        if get.get("path") != path:
            problem(where, f"{name} checks {get.get('path')!r}, expected {path}")
        if get.get("port") not in ("http", ports.get("http")):
            problem(where, f"{name} port {get.get('port')!r} is not the http port")
        if probe.get("timeoutSeconds", 1) >= probe.get("periodSeconds", 10):
            problem(where, f"{name} timeout is not shorter than its period")
        return probe

    liveness = probe_path("livenessProbe", "/livez")
    readiness = probe_path("readinessProbe", "/readyz")
    probe_path("startupProbe", "/livez")
    if liveness and readiness and liveness.get("failureThreshold", 3) * liveness.get("periodSeconds", 10) <= (
        readiness.get("failureThreshold", 3) * readiness.get("periodSeconds", 10)
    ):
        problem(where, "liveness must give up later than readiness: an overloaded pod is taken out, not killed")

    resources = c.get("resources") or {}
    for kind in ("cpu", "memory"):
        if kind not in (resources.get("requests") or {}):
            problem(where, f"no {kind} request")
    if "memory" not in (resources.get("limits") or {}):
        problem(where, "no memory limit")

    args = c.get("args", [])
    config_path = args[args.index("--config") + 1] if "--config" in args[:-1] else None
    mounts = {m.get("name"): m.get("mountPath") for m in c.get("volumeMounts", [])}
    volumes = {v.get("name"): v for v in pod_spec.get("volumes", [])}
    config_volume = next(
        (n for n, v in volumes.items() if v.get("configMap", {}).get("name") == config_map["metadata"]["name"]),
        None,
    )
    if config_volume is None or config_volume not in mounts:
        problem(where, "the ConfigMap is not mounted")
    elif config_path != f"{mounts[config_volume].rstrip('/')}/bulwark.toml":
        problem(where, f"--config {config_path!r} is not the mounted ConfigMap's bulwark.toml")
    data_dir = config.get("data_dir", "./bulwark-data")
    if c.get("securityContext", {}).get("readOnlyRootFilesystem") and data_dir not in mounts.values():
        problem(where, f"data_dir {data_dir} is not on a mounted volume but the root filesystem is read-only")

    grace = pod_spec.get("terminationGracePeriodSeconds", 30)
    pre_stop = c.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
    if grace < pre_stop + drain + 5:
        problem(
            where,
            f"terminationGracePeriodSeconds {grace} < preStop {pre_stop} s + drain_timeout {drain:g} s + 5 s margin",
        )

    service = by_kind["Service"]
    if not subset(service.get("spec", {}).get("selector", {}), pod_labels):
        problem(where, "Service selector does not match the pods")
    for p in service.get("spec", {}).get("ports", []):
        if p.get("targetPort") not in ("http", ports.get("http")):
            problem(where, f"Service targetPort {p.get('targetPort')!r} is not the container's http port")

    pdb = by_kind["PodDisruptionBudget"].get("spec", {})
    if not subset(pdb.get("selector", {}).get("matchLabels", {}), pod_labels):
        problem(where, "PodDisruptionBudget selector does not match the pods")
    if ("minAvailable" in pdb) == ("maxUnavailable" in pdb):
        problem(where, "PodDisruptionBudget needs exactly one of minAvailable, maxUnavailable")
    if isinstance(pdb.get("minAvailable"), int) and pdb["minAvailable"] >= replicas:
        problem(where, "PodDisruptionBudget minAvailable >= replicas blocks every node drain")
    if pdb.get("maxUnavailable") == 0:
        problem(where, "PodDisruptionBudget maxUnavailable 0 blocks every node drain")


def check_series_names():
    """The kit's series names against the ones the runtime and the supervisors declare."""
    declared = set()
    for path in SERIES_SOURCES:
        declared |= set(re.findall(r'"(bulwark_[a-z0-9_]+)"', read(path)))
    for name in sorted(KNOWN_SERIES - GATEWAY_SERIES - declared):
        problem("scripts/check_deploy.py", f"{name} is no longer declared in {' or '.join(SERIES_SOURCES)}")


def main():
    for check in (check_series_names, check_dashboard, check_alerts, check_k8s):
        try:
            check()
        except (OSError, KeyError, TypeError, AttributeError, ValueError, yaml.YAMLError) as e:
            problem(check.__name__, f"{type(e).__name__}: {e}")
    if problems:
        for p in problems:
            print(f"check_deploy: {p}", file=sys.stderr)
        print(f"check_deploy: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print("check_deploy: dashboard, alert runbooks and Kubernetes manifest OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
