"""Checks the rendered Kubernetes manifests (`kubectl kustomize deploy/...` on stdin): every
object the runbook relies on is there, with probes, resources and a restrictive
securityContext. Run by scripts/check-deploy."""

import sys

import yaml

docs = [d for d in yaml.safe_load_all(sys.stdin) if d]
by_kind = {}
for d in docs:
    by_kind.setdefault(d["kind"], []).append(d)

problems = []


def need(condition, what):
    if not condition:
        problems.append(what)


for kind in ["Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler",
             "ConfigMap", "ServiceAccount", "NetworkPolicy"]:
    need(kind in by_kind, f"no {kind}")

for dep in by_kind.get("Deployment", []):
    pod = dep["spec"]["template"]["spec"]
    need(pod.get("securityContext", {}).get("runAsNonRoot") is True, "pod runAsNonRoot")
    need(pod.get("automountServiceAccountToken") is False, "no service account token")
    grace = pod.get("terminationGracePeriodSeconds", 30)
    for c in pod["containers"]:
        name = c["name"]
        for probe in ["startupProbe", "livenessProbe", "readinessProbe"]:
            need(probe in c, f"{name}: {probe}")
        need(c.get("readinessProbe", {}).get("httpGet", {}).get("path") == "/readyz",
             f"{name}: readiness on /readyz")
        need(c.get("livenessProbe", {}).get("httpGet", {}).get("path") == "/healthz",
             f"{name}: liveness on /healthz")
        sc = c.get("securityContext", {})
        need(sc.get("allowPrivilegeEscalation") is False, f"{name}: no privilege escalation")
        need(sc.get("readOnlyRootFilesystem") is True, f"{name}: read-only root")
        need(sc.get("capabilities", {}).get("drop") == ["ALL"], f"{name}: drop ALL capabilities")
        res = c.get("resources", {})
        need("requests" in res and "memory" in res.get("limits", {}), f"{name}: resources")
        need(c.get("image", "").count(":") >= 1, f"{name}: a pinned image tag")
    config = next((m for m in by_kind.get("ConfigMap", []) if "config.toml" in m.get("data", {})), None)
    need(config is not None, "the config.toml ConfigMap")
    if config:
        text = config["data"]["config.toml"]
        delay = grace_secs = None
        for line in text.splitlines():
            if line.startswith("shutdown_delay_secs"):
                delay = int(line.split("=")[1])
            if line.startswith("shutdown_grace_secs"):
                grace_secs = int(line.split("=")[1])
        need(delay is not None and grace_secs is not None and delay + grace_secs < grace,
             "shutdown_delay_secs + shutdown_grace_secs below terminationGracePeriodSeconds")

for pdb in by_kind.get("PodDisruptionBudget", []):
    need("minAvailable" in pdb["spec"] or "maxUnavailable" in pdb["spec"], "PDB budget")

if problems:
    print("deploy manifests:", *problems, sep="\n  ", file=sys.stderr)
    sys.exit(1)
print(f"deploy manifests ok: {', '.join(sorted(by_kind))}")
