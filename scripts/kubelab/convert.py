"""What Kubernetes' controllers and kubelet would make of rendered manifests,
in the form `podman kube play` (Debian's podman 4.3) can run: plain Pods.

Pure: takes the rendered objects and the lab's choices (pod addresses,
where volumes live), returns pod specs plus what the lab must do around
them. The manifests are never edited; every change below is one a
controller or the kubelet makes in a real cluster, or stands in for a
kind podman does not play:

- StatefulSet: Pods `<set>-<i>` with hostname `<set>-<i>`, subdomain the
  set's serviceName, the label statefulset.kubernetes.io/pod-name, and a
  volume per volumeClaimTemplate bound to claim `<template>-<set>-<i>`
  (a host directory that outlives the pod, as a PersistentVolume does).
- Deployment: Pods `<deployment>-<template hash>-<i>`, hostname the pod name.
- Services: no virtual IPs; their DNS names are resolved to the pods they
  select (network aliases: `<svc>.<ns>.svc.cluster.local`, and for a pod
  whose subdomain names a headless Service `<host>.<svc>.<ns>.svc...`).
  A LoadBalancer Service's address is its pod's address on the WAN
  network (the lab's stand-in for a cloud load balancer).
- The kubelet's part: env from fieldRef (podman 4.3 lacks status.podIP)
  and configMapKeyRef written as values; ConfigMap and Secret volumes
  written as files (podman 4.3 crashes on Secret volumes) with Kubernetes'
  modes and fsGroup ownership; emptyDir as a fresh 0777 directory per pod
  incarnation; `$(VAR)` in command and args expanded from the
  container's env (podman 4.3 passes them verbatim); containerPorts not
  published on the host (podman 4.3 publishes them); pod sysctls applied by the lab to the pod's network
  namespace before its containers start (podman 4.3 ignores them);
  probes run by the lab (readiness decides "ready"; liveness is not
  acted on).
- Not enforced: NetworkPolicy, PodDisruptionBudget, resources' requests,
  topology spread (one host).
"""

import base64
import copy
import hashlib
import json
import re

CLUSTER_DOMAIN = "svc.cluster.local"


def by_kind(objects, kind):
    return [o for o in objects if o and o.get("kind") == kind]


def find(objects, kind, name):
    for o in by_kind(objects, kind):
        if o["metadata"]["name"] == name:
            return o
    raise KeyError(f"{kind}/{name} is not in the rendered manifests")


def workload_pods(objects):
    """The pods the controllers would create: [(name, template, owner kind, owner name, index)]."""
    pods = []
    for s in by_kind(objects, "StatefulSet"):
        for i in range(s["spec"].get("replicas", 1)):
            pods.append((f"{s['metadata']['name']}-{i}", s, "StatefulSet", i))
    for d in by_kind(objects, "Deployment"):
        digest = hashlib.sha256(json.dumps(d["spec"]["template"], sort_keys=True).encode()).hexdigest()[:10]
        for i in range(d["spec"].get("replicas", 1)):
            pods.append((f"{d['metadata']['name']}-{digest}-{i}", d, "Deployment", i))
    for p in by_kind(objects, "Pod"):
        pods.append((p["metadata"]["name"], p, "Pod", 0))
    return pods


def pod_object(name, owner, kind, index):
    """The Pod a controller creates from its owner's template (metadata, spec)."""
    if kind == "Pod":
        return copy.deepcopy(owner)
    template = copy.deepcopy(owner["spec"]["template"])
    meta = template.get("metadata", {})
    labels = dict(meta.get("labels", {}))
    spec = template["spec"]
    namespace = owner["metadata"].get("namespace", "default")
    spec.setdefault("hostname", name)
    if kind == "StatefulSet":
        labels["statefulset.kubernetes.io/pod-name"] = name
        spec["subdomain"] = owner["spec"]["serviceName"]
        for claim in owner["spec"].get("volumeClaimTemplates", []):
            claim_name = f"{claim['metadata']['name']}-{name}"
            spec.setdefault("volumes", []).append(
                {"name": claim["metadata"]["name"], "persistentVolumeClaim": {"claimName": claim_name}})
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": labels,
                         "annotations": dict(meta.get("annotations", {}))},
            "spec": spec}


def selects(service, labels):
    selector = service["spec"].get("selector")
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def dns_names(objects, pod):
    """The cluster DNS names that resolve to this pod (Services selecting it)."""
    names = []
    labels = pod["metadata"]["labels"]
    spec = pod["spec"]
    for svc in by_kind(objects, "Service"):
        if svc["spec"].get("type") == "LoadBalancer" or not selects(svc, labels):
            continue
        ns = svc["metadata"].get("namespace", "default")
        base = f"{svc['metadata']['name']}.{ns}.{CLUSTER_DOMAIN}"
        names.append(base)
        if svc["spec"].get("clusterIP") == "None" and spec.get("subdomain") == svc["metadata"]["name"]:
            names.append(f"{spec['hostname']}.{base}")
    return names


def load_balancers(objects, pod):
    """Names of the LoadBalancer Services that send to this pod."""
    return [s["metadata"]["name"] for s in by_kind(objects, "Service")
            if s["spec"].get("type") == "LoadBalancer" and selects(s, pod["metadata"]["labels"])]


def config_data(objects, kind, name):
    """A ConfigMap's or Secret's entries as bytes."""
    o = find(objects, kind, name)
    entries = {k: v.encode() for k, v in (o.get("stringData") or {}).items()}
    for k, v in (o.get("data") or {}).items():
        entries[k] = base64.b64decode(v) if kind == "Secret" else v.encode()
    return entries


def resolve_env(objects, pod, container, pod_ip):
    """Env with every valueFrom written as the value the kubelet would give."""
    out = []
    for e in container.get("env", []):
        source = e.get("valueFrom")
        if source is None:
            out.append(e)
            continue
        if "fieldRef" in source:
            path = source["fieldRef"]["fieldPath"]
            fields = {"metadata.name": pod["metadata"]["name"], "metadata.namespace": pod["metadata"]["namespace"],
                      "status.podIP": pod_ip, "spec.nodeName": "lab"}
            if path not in fields:
                raise ValueError(f"fieldRef {path} is not one the lab knows")
            value = fields[path]
        elif "configMapKeyRef" in source or "secretKeyRef" in source:
            kind = "ConfigMap" if "configMapKeyRef" in source else "Secret"
            ref = source["configMapKeyRef" if kind == "ConfigMap" else "secretKeyRef"]
            value = config_data(objects, kind, ref["name"])[ref["key"]].decode()
        else:
            raise ValueError(f"env {e['name']}: valueFrom {sorted(source)} is not one the lab knows")
        out.append({"name": e["name"], "value": value})
    return out


def expand(text, env):
    """Kubernetes' $(VAR) expansion: defined names are replaced, $$ is a literal $,
    anything else is left as written."""
    def one(m):
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1), m.group(0))
    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)", one, text)


def volume_plan(objects, pod, pod_dir, claims_dir, secrets):
    """How each volume is made: [(volume name, host path, files {name: (bytes, mode)} or None,
    dir mode, gid)]. `secrets` maps a Secret name to its entries (Secrets are made by the lab,
    never rendered: they are not committed)."""
    ctx = pod["spec"].get("securityContext", {})
    fs_group = ctx.get("fsGroup")
    plan = []
    for v in pod["spec"].get("volumes", []):
        name = v["name"]
        if "configMap" in v or "secret" in v:
            if "configMap" in v:
                entries = config_data(objects, "ConfigMap", v["configMap"]["name"])
                mode = v["configMap"].get("defaultMode", 0o644)
            else:
                secret = v["secret"]["secretName"]
                if secret not in secrets:
                    raise KeyError(f"Secret {secret} (volume {name}) was not made by the lab")
                entries = secrets[secret]
                mode = v["secret"].get("defaultMode", 0o644)
            if fs_group is not None:
                mode |= 0o440  # the kubelet lets fsGroup read read-only volumes
            files = {k: (data, mode) for k, data in entries.items()}
            plan.append((name, f"{pod_dir}/{name}", files, 0o755, fs_group or 0))
        elif "emptyDir" in v:
            plan.append((name, f"{pod_dir}/{name}", None, 0o777 if fs_group is None else 0o2777, fs_group or 0))
        elif "persistentVolumeClaim" in v:
            claim = v["persistentVolumeClaim"]["claimName"]
            plan.append((name, f"{claims_dir}/{claim}", None, 0o755 if fs_group is None else 0o2775, fs_group or 0))
        else:
            raise ValueError(f"volume {name}: kind {sorted(v)} is not one the lab knows")
    return plan


def playable(objects, pod, pod_ip, plan):
    """The Pod as podman 4.3 plays it: env resolved, volumes as host paths, no probes or
    sysctls (the lab does those), podman's pod name. Returns (pod yaml object, sysctls,
    readiness probes {container: probe})."""
    out = copy.deepcopy(pod)
    spec = out["spec"]
    ctx = spec.get("securityContext", {})
    sysctls = ctx.pop("sysctls", [])
    paths = {name: path for name, path, *_ in plan}
    spec["volumes"] = [{"name": name, "hostPath": {"path": paths[name], "type": "Directory"}}
                       for name in paths]
    readiness = {}
    for c in spec["containers"]:
        c["env"] = resolve_env(objects, pod, c, pod_ip)
        values = {}
        for e in c["env"]:
            values[e["name"]] = expand(e["value"], values)
            e["value"] = values[e["name"]]
        for field in ("command", "args"):
            if field in c:
                c[field] = [expand(a, values) for a in c[field]]
        ports = c.pop("ports", [])
        probe = c.pop("readinessProbe", None)
        c.pop("livenessProbe", None)
        c.pop("startupProbe", None)
        if probe:
            readiness[c["name"]] = {"probe": probe, "ports": {p["name"]: p["containerPort"]
                                                              for p in ports if "name" in p}}
    for key in ("serviceAccountName", "automountServiceAccountToken", "topologySpreadConstraints",
                "terminationGracePeriodSeconds"):
        spec.pop(key, None)
    out["metadata"].pop("namespace", None)
    return out, sysctls, readiness
