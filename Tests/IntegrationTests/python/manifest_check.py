"""What the rendered Kubernetes manifests must say, beyond their schema.

Usage: python3 manifest_check.py RENDERED.yaml [DATACENTER WORKLOAD]
Prints one line per check and exits non-zero if any failed.
"""
import sys

import yaml


def main() -> int:
    path = sys.argv[1]
    dc, workload = (sys.argv[2], sys.argv[3]) if len(sys.argv) > 3 else (None, None)
    docs = [d for d in yaml.safe_load_all(open(path)) if d]
    by = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    failed = []

    def check(name, ok, detail=""):
        print(("ok   " if ok else "FAIL ") + name + ("" if ok else f": {detail}"))
        if not ok:
            failed.append(name)

    sts = by.get(("StatefulSet", "fedagent-server"))
    check("a server StatefulSet", sts is not None)
    if sts is None:
        return 1
    spec = sts["spec"]
    check("3 servers, started in parallel", spec["replicas"] == 3 and spec["podManagementPolicy"] == "Parallel")
    check("data on a volume claim", spec["volumeClaimTemplates"][0]["metadata"]["name"] == "data")
    headless = by.get(("Service", spec["serviceName"]))
    check("a headless Service listing servers before they are ready",
          headless is not None and headless["spec"]["clusterIP"] == "None" and headless["spec"]["publishNotReadyAddresses"] is True)
    gateways = [d for (k, n), d in by.items() if k == "Service" and n.startswith("fedagent-gateway-")]
    check("one LoadBalancer per server for the WAN", len(gateways) == 3 and all(g["spec"]["type"] == "LoadBalancer" for g in gateways))
    check("the gateways expose the server port and WAN gossip (TCP and UDP)",
          all({(p["port"], p["protocol"]) for p in g["spec"]["ports"]} == {(8300, "TCP"), (8302, "TCP"), (8302, "UDP")} for g in gateways))
    check("a PodDisruptionBudget", ("PodDisruptionBudget", "fedagent-server") in by)
    check("a DNS Service on port 53", any(p["port"] == 53 for p in by[("Service", "fedagent-dns")]["spec"]["ports"]))

    pods = [d["spec"]["template"] for d in docs if d["kind"] in ("StatefulSet", "Deployment")]
    for template in pods:
        pod = template["spec"]
        for c in pod["containers"]:
            sc = {**pod.get("securityContext", {}), **c.get("securityContext", {})}
            name = f'{template["metadata"]["labels"].get("app.kubernetes.io/name")}/{c["name"]}'
            check(f"{name}: non-root, read-only root, no capabilities, no escalation",
                  (sc.get("runAsNonRoot") or (sc.get("runAsUser") or 0) > 0) and sc.get("readOnlyRootFilesystem") is True
                  and sc.get("capabilities", {}).get("drop") == ["ALL"] and sc.get("allowPrivilegeEscalation") is False, sc)
            check(f"{name}: requests and limits", "requests" in c.get("resources", {}) and "limits" in c["resources"])
            if c["name"] == "fedagent":
                check(f"{name}: probes are the agent's own binary",
                      c["readinessProbe"]["exec"]["command"] == ["fedagent", "probe", "-ready"]
                      and c["livenessProbe"]["exec"]["command"] == ["fedagent", "probe", "-live"])
                check(f"{name}: the node is the pod", "-node=$(POD_NAME)" in c["args"])
        check(f'{template["metadata"]["labels"].get("app.kubernetes.io/name")}: RuntimeDefault seccomp',
              pod.get("securityContext", {}).get("seccompProfile", {}).get("type") == "RuntimeDefault")

    if workload:
        deployment = by[("Deployment", workload)]
        pod = deployment["spec"]["template"]["spec"]
        names = [c["name"] for c in pod["containers"]]
        check(f"{workload} got the sidecar", "fedagent" in names and len(names) == 2, names)
        sidecar = next(c for c in pod["containers"] if c["name"] == "fedagent")
        check(f"{workload}: the sidecar answers DNS on 127.0.0.1:53 and the pod resolves through it",
              "-dns-port=53" in sidecar["args"] and pod["dnsPolicy"] == "None" and pod["dnsConfig"]["nameservers"] == ["127.0.0.1"]
              and {"name": "net.ipv4.ip_unprivileged_port_start", "value": "53"} in pod["securityContext"]["sysctls"])
        check(f"{workload}: the sidecar presents a client certificate, never a server's",
              any(v.get("secret", {}).get("secretName") == "fedagent-client-tls" for v in pod["volumes"])
              and not any(v.get("secret", {}).get("secretName") == "fedagent-tls" for v in pod["volumes"]))
        check(f"{workload}: its service definition is mounted", any(v["name"] == "fedagent-service" for v in pod["volumes"]))
        datacenter = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("fedagent-datacenter"))
        check(f"datacenter {dc}", datacenter["data"]["DATACENTER"] == dc, datacenter["data"])
        wan = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("fedagent-server-wan"))
        check("every server has its WAN address and the other cluster's gateways",
              sorted(wan["data"]) == ["fedagent-server-0.json", "fedagent-server-1.json", "fedagent-server-2.json"]
              and all('"retry_join_wan": ["' in v for v in wan["data"].values()), wan["data"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
