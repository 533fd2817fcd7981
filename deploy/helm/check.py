"""Offline checks of deploy/: lint and render the Helm chart (Helm's Go SDK through the
helm-python-sdk wheel), assert the rendered manifests hold what the deployment relies on, and
check the compose topology's structure. Run by scripts/helm-check.sh; exits non-zero on the first
failed check with a message naming it."""

from __future__ import annotations

import sys
from pathlib import Path

import helm_python as helm
import yaml

DEPLOY = Path(__file__).resolve().parent.parent
CHART = DEPLOY / "helm" / "crawlrag"
KUBE_VERSION = "v1.30.0"
RELEASE = "demo"
FULL = f"{RELEASE}-crawlrag"
failures: list[str] = []


def check(condition: bool, what: str) -> None:
    if not condition:
        failures.append(what)


def load_values(name: str) -> dict:
    return yaml.safe_load((CHART / "ci" / name).read_text()) or {}


def lint(values: dict, label: str) -> None:
    report = helm.lint(str(CHART), values, strict=True, kube_version=KUBE_VERSION)
    errors = [m for m in report["messages"] if m["severity"] >= 2] + [{"error": e} for e in report["errors"]]
    check(not errors, f"lint ({label}): {errors}")


def render(values: dict) -> list[dict]:
    with helm.Chart.load(str(CHART)) as chart:
        files = chart.render(values, name=RELEASE, namespace="crawlrag", is_install=True)
    docs = []
    for path, text in files.items():
        if path.endswith("NOTES.txt"):
            continue
        docs.extend(d for d in yaml.safe_load_all(text) if d)
    return docs


def find(docs: list[dict], kind: str, name: str) -> dict | None:
    return next((d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name), None)


def container(deploy: dict) -> dict:
    return deploy["spec"]["template"]["spec"]["containers"][0]


def check_hardened(pod_spec: dict, label: str) -> None:
    pod_sc = pod_spec.get("securityContext", {})
    check(pod_sc.get("runAsNonRoot") is True, f"{label}: runAsNonRoot")
    check(pod_sc.get("runAsUser", 0) != 0, f"{label}: runAsUser is not 0")
    for c in pod_spec["containers"]:
        sc = c.get("securityContext", {})
        check(sc.get("readOnlyRootFilesystem") is True, f"{label}: readOnlyRootFilesystem")
        check(sc.get("allowPrivilegeEscalation") is False, f"{label}: allowPrivilegeEscalation false")
        check("ALL" in sc.get("capabilities", {}).get("drop", []), f"{label}: capabilities drop ALL")
        check(bool(c.get("resources", {}).get("requests")), f"{label}: resource requests")


def probe(c: dict, kind: str) -> tuple[str, object]:
    get = c.get(kind, {}).get("httpGet", {})
    return get.get("path"), get.get("port")


def port_number(c: dict, name_or_number: object) -> object:
    for p in c.get("ports", []):
        if p.get("name") == name_or_number:
            return p["containerPort"]
    return name_or_number


def check_common(docs: list[dict], label: str) -> tuple[dict, dict]:
    api = find(docs, "Deployment", f"{FULL}-api")
    worker = find(docs, "Deployment", f"{FULL}-worker")
    check(api is not None and worker is not None, f"{label}: API and worker Deployments")
    if api is None or worker is None:
        return {}, {}
    a, w = container(api), container(worker)
    check(a["args"][:2] == ["serve", "--http"] and "--role" in a["args"] and "api" in a["args"],
          f"{label}: API runs `serve --http ... --role api`")
    check(probe(a, "livenessProbe")[0] == "/health", f"{label}: API liveness /health")
    check(probe(a, "readinessProbe")[0] == "/ready", f"{label}: API readiness /ready")
    check(w["args"][0] == "worker" and "--http" in w["args"], f"{label}: worker runs `worker --http`")
    check(probe(w, "livenessProbe")[0] == "/health", f"{label}: worker liveness /health")
    check(probe(w, "readinessProbe")[0] == "/ready", f"{label}: worker readiness /ready")
    check(port_number(w, probe(w, "readinessProbe")[1]) == 9090, f"{label}: worker probes on 9090")
    wspec = worker["spec"]["template"]["spec"]
    check(wspec.get("terminationGracePeriodSeconds", 30) >= 60, f"{label}: worker grace >= 60 s")
    shm = [v for v in wspec["volumes"] if v.get("emptyDir", {}).get("medium") == "Memory"]
    mounts = {m["mountPath"] for m in w["volumeMounts"]}
    check(bool(shm) and "/dev/shm" in mounts, f"{label}: worker /dev/shm memory emptyDir")
    check_hardened(api["spec"]["template"]["spec"], f"{label}: API")
    check_hardened(wspec, f"{label}: worker")

    for component in ("api", "worker"):
        pdb = find(docs, "PodDisruptionBudget", f"{FULL}-{component}")
        check(pdb is not None, f"{label}: PDB for {component}")
    job = find(docs, "Job", f"{FULL}-migrate")
    check(job is not None, f"{label}: migration Job")
    if job:
        hooks = job["metadata"].get("annotations", {}).get("helm.sh/hook", "")
        check({"pre-install", "pre-upgrade"} <= set(hooks.split(",")), f"{label}: migrate hook annotation")
        check(container(job)["args"] == ["migrate"], f"{label}: Job runs `crawlrag migrate`")
        check_hardened(job["spec"]["template"]["spec"], f"{label}: migrate Job")
    check(find(docs, "HorizontalPodAutoscaler", f"{FULL}-api") is not None, f"{label}: API HPA")
    check(find(docs, "Service", f"{FULL}-api") is not None, f"{label}: API Service")
    check(find(docs, "ConfigMap", FULL) is not None, f"{label}: ConfigMap")
    check(find(docs, "ServiceAccount", FULL) is not None, f"{label}: ServiceAccount")

    wnp = find(docs, "NetworkPolicy", f"{FULL}-worker")
    anp = find(docs, "NetworkPolicy", f"{FULL}-api")
    check(wnp is not None and anp is not None, f"{label}: NetworkPolicies")
    if wnp:
        ports = [p["port"] for rule in wnp["spec"].get("ingress", []) for p in rule.get("ports", [])]
        check(ports == [9090], f"{label}: worker ingress only on the metrics port, got {ports}")
        check(any("ipBlock" in peer for rule in wnp["spec"]["egress"] for peer in rule.get("to", [])),
              f"{label}: worker egress to the internet")
    if anp:
        peers = [peer for rule in anp["spec"]["ingress"] for peer in rule.get("from", [])]
        check(any("namespaceSelector" in p for p in peers), f"{label}: API ingress from a namespace selector")
    return api, worker


def check_minimal() -> None:
    values = load_values("minimal-values.yaml")
    lint(values, "minimal")
    docs = render(values)
    _, worker = check_common(docs, "minimal")
    check(worker.get("spec", {}).get("replicas") == 3, "minimal: 3 fixed worker replicas")
    check(not any(d["kind"] in ("ScaledObject", "TriggerAuthentication", "Ingress") for d in docs),
          "minimal: no KEDA objects and no Ingress")
    check(find(docs, "HorizontalPodAutoscaler", f"{FULL}-worker") is None, "minimal: no worker HPA")
    secret = find(docs, "Secret", FULL)
    check(secret is not None and {"DATABASE_URL", "REDIS_URL"} <= set(secret.get("stringData", {})),
          "minimal: Secret with DATABASE_URL and REDIS_URL")
    # A plain CPU HPA when asked for without KEDA.
    values["worker"] = {"autoscaling": {"enabled": True}}
    docs = render(values)
    hpa = find(docs, "HorizontalPodAutoscaler", f"{FULL}-worker")
    check(hpa is not None, "worker.autoscaling: worker HPA without KEDA")
    worker = find(docs, "Deployment", f"{FULL}-worker") or {}
    check("replicas" not in worker.get("spec", {}), "worker.autoscaling: HPA owns the replicas")


def check_all_enabled() -> None:
    values = load_values("all-enabled-values.yaml")
    lint(values, "all-enabled")
    docs = render(values)
    api, worker = check_common(docs, "all-enabled")
    check("replicas" not in worker.get("spec", {}), "all-enabled: KEDA owns the worker replicas")
    check(find(docs, "Secret", FULL) is None, "all-enabled: no chart Secret with existingSecret")
    env_from = container(api).get("envFrom", []) if api else []
    check({"secretRef": {"name": "crawlrag-env"}} in env_from, "all-enabled: pods read the existing Secret")
    check(find(docs, "HorizontalPodAutoscaler", f"{FULL}-worker") is None,
          "all-enabled: no plain worker HPA beside KEDA")
    scaled = find(docs, "ScaledObject", f"{FULL}-worker")
    auth = find(docs, "TriggerAuthentication", f"{FULL}-redis")
    check(scaled is not None and auth is not None, "all-enabled: ScaledObject and TriggerAuthentication")
    if scaled and auth:
        check(scaled["spec"]["scaleTargetRef"]["name"] == f"{FULL}-worker", "KEDA targets the worker")
        triggers = scaled["spec"]["triggers"]
        streams = {t["metadata"]["stream"] for t in triggers}
        check(streams == {"crawlrag:stream:pages", "crawlrag:stream:jobs"}, f"KEDA streams: {streams}")
        for t in triggers:
            md = t["metadata"]
            check(t["type"] == "redis-streams", "KEDA trigger type redis-streams")
            check(md.get("consumerGroup") == "workers", "KEDA consumerGroup workers")
            check(md.get("lagCount", "").isdigit(), "KEDA lagCount is a number string")
            check(md.get("address") == "redis-master.data.svc:6379", "KEDA address from values")
            check(md.get("enableTLS") == "true", "KEDA enableTLS from values")
            check(t.get("authenticationRef", {}).get("name") == auth["metadata"]["name"], "KEDA authenticationRef")
        ref = auth["spec"]["secretTargetRef"][0]
        check(ref == {"parameter": "password", "name": "crawlrag-env", "key": "REDIS_PASSWORD"},
              f"TriggerAuthentication reads the Redis password from the Secret: {ref}")
    ingress = find(docs, "Ingress", FULL)
    check(ingress is not None and bool(ingress["spec"].get("tls")), "all-enabled: Ingress with TLS")
    mounts = [m["mountPath"] for m in container(worker).get("volumeMounts", [])] if worker else []
    check("/models" in mounts, "all-enabled: model volume mounted at /models")
    names = {e["name"] for e in container(api).get("env", [])} if api else set()
    check({"CRAWLRAG_OAUTH_JWKS_URL", "CRAWLRAG_TRUSTED_PROXIES", "CRAWLRAG_ALLOWED_HOSTS"} <= names,
          "all-enabled: OAuth, trusted proxies and allowed hosts reach the API")
    allowed = next((e["value"] for e in container(api).get("env", []) if e["name"] == "CRAWLRAG_ALLOWED_HOSTS"), "")
    check({f"{FULL}-api.crawlrag.svc", "crawlrag.example.internal"} <= set(allowed.split(",")),
          f"all-enabled: Service and Ingress host names allowed: {allowed}")


def check_guards() -> None:
    """Values that would deploy something broken must fail rendering with a clear message."""
    for values, expected in (
        ({}, "secrets.databaseUrl"),
        ({**load_values("minimal-values.yaml"), "worker": {"terminationGracePeriodSeconds": 30}},
         "terminationGracePeriodSeconds"),
    ):
        try:
            render(values)
            failures.append(f"guard: rendering without {expected} should fail")
        except helm.HelmError as err:
            check(expected in str(err), f"guard: message names {expected}: {err}")


def check_compose() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    for name in ("postgres", "redis", "falkordb", "migrate", "api-1", "api-2", "nginx", "worker"):
        check(name in services, f"compose: service {name}")
    if failures:
        return
    check(services["migrate"]["command"] == ["migrate"], "compose: migrate runs `migrate`")
    for api in ("api-1", "api-2"):
        svc = services[api]
        check(svc["command"][:2] == ["serve", "--http"] and svc["command"][-2:] == ["--role", "api"],
              f"compose: {api} runs serve --role api")
        check(svc["depends_on"]["migrate"]["condition"] == "service_completed_successfully",
              f"compose: {api} waits for the migration")
        check(svc["environment"]["CRAWLRAG_ROLE"] == "api", f"compose: {api} CRAWLRAG_ROLE")
    worker = services["worker"]
    check(worker["deploy"]["replicas"] == 3, "compose: three workers")
    check(worker["command"][0] == "worker", "compose: worker runs `worker`")
    check(int(worker["stop_grace_period"].rstrip("s")) >= 60, "compose: worker stop grace >= 60 s")
    for name in ("postgres", "redis", "falkordb", "api-1", "api-2", "nginx", "worker"):
        check("test" in services[name].get("healthcheck", {}), f"compose: {name} healthcheck")
    for name, svc in services.items():
        for dep, cond in (svc.get("depends_on") or {}).items():
            check(dep in services, f"compose: {name} depends on unknown {dep}")
            check(cond.get("condition") in ("service_healthy", "service_completed_successfully"),
                  f"compose: {name} -> {dep} has a condition")
    nginx = services["nginx"]
    mount = nginx["volumes"][0].split(":")[0]
    conf = (DEPLOY / mount).read_text()
    for api in ("api-1", "api-2"):
        check(conf.count(f"server {api}:8051") == 2, f"nginx.conf: {api} in both upstream groups")
    check("hash $binary_remote_addr consistent" in conf, "nginx.conf: sticky group hashes client address")
    check("$http_mcp_protocol_version" in conf, "nginx.conf: stateless requests by protocol version")


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    out, pending = [], ""
    for line in path.read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending += line.rstrip("\\").strip() + " "
        if not line.rstrip().endswith("\\"):
            word, _, rest = pending.strip().partition(" ")
            out.append((word.upper(), rest))
            pending = ""
    return out


def check_dockerfile() -> None:
    """No daemon here to build it: check the image's contract statically."""
    steps = dockerfile_instructions(DEPLOY / "Dockerfile")
    froms = [a for i, a in steps if i == "FROM"]
    check(len(froms) >= 2 and " AS builder" in froms[0] and "slim" in froms[-1],
          f"Dockerfile: multi-stage, slim runtime: {froms}")
    runtime = steps[max(i for i, (ins, _) in enumerate(steps) if ins == "FROM"):]
    user = [a for i, a in runtime if i == "USER"]
    check(bool(user) and user[-1].split(":")[0].strip("${}") not in ("root", "0"), f"Dockerfile: non-root USER {user}")
    check(any(i == "ARG" and a.startswith("CRAWLRAG_UID=") and a != "CRAWLRAG_UID=0" for i, a in runtime),
          "Dockerfile: fixed non-zero UID")
    entry = [a for i, a in runtime if i == "ENTRYPOINT"]
    check(bool(entry) and "tini" in entry[-1], "Dockerfile: tini as PID 1")
    check(any(i == "HEALTHCHECK" for i, _ in runtime), "Dockerfile: HEALTHCHECK")
    check(any(i == "LABEL" for i, _ in runtime), "Dockerfile: labels")
    installs = " ".join(a for i, a in runtime if i == "RUN")
    check("chromium" in installs and "fonts-" in installs, "Dockerfile: Chromium and fonts in the runtime")
    check(any(i == "ARG" and a.startswith("BAKE_MODEL") for i, a in steps), "Dockerfile: BAKE_MODEL build arg")
    check("scripts/model.sh" in installs + " ".join(a for _, a in steps), "Dockerfile: model via scripts/model.sh")
    ignore = (DEPLOY.parent / ".dockerignore").read_text().split()
    check("target/" in ignore and ".git/" in ignore, "Dockerfile: .dockerignore keeps target/ and .git/ out")


def main() -> int:
    helm.disable_logging()
    for step in (check_minimal, check_all_enabled, check_guards, check_compose, check_dockerfile):
        step()
        print(f"helm-check: {step.__name__}: {'ok' if not failures else 'FAILED'}", file=sys.stderr)
        if failures:
            break
    for failure in failures:
        print(f"helm-check: FAILED {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
