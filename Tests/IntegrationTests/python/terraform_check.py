"""What deploy/terraform's root modules must say, read with python-hcl2.

Usage: python3 terraform_check.py DEPLOY_TERRAFORM_DIR
Prints one line per check and exits non-zero if any failed.
"""
import os
import sys

import hcl2


def clean(value):
    """python-hcl2 (8.x) keeps HCL's quotes on labels and strings, and adds
    markers of its own: plain values, as earlier versions gave them."""
    if isinstance(value, dict):
        return {clean(k): clean(v) for k, v in value.items() if not (isinstance(k, str) and k.startswith("__"))}
    if isinstance(value, list):
        return [clean(v) for v in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def load(module):
    merged = {}
    for name in sorted(os.listdir(module)):
        if name.endswith(".tf"):
            with open(os.path.join(module, name)) as f:
                for key, value in clean(hcl2.load(f)).items():
                    merged.setdefault(key, []).extend(value if isinstance(value, list) else [value])
    return merged


def blocks(doc, kind, type_):
    return [b[type_] for b in doc.get(kind, []) if type_ in b]


def main() -> int:
    root = sys.argv[1]
    failed = []

    def check(name, ok, detail=""):
        print(("ok   " if ok else "FAIL ") + name + ("" if ok else f": {detail}"))
        if not ok:
            failed.append(name)

    mods = {m: load(os.path.join(root, m)) for m in ("eks", "aks", "fedagent")}
    for m, doc in mods.items():
        check(f"{m}: pins Terraform and its providers", bool(doc.get("terraform")) and "required_providers" in doc["terraform"][0])
        described = all("description" in v for b in doc.get("variable", []) for v in b.values())
        check(f"{m}: every variable and output is described", described and all("description" in v for b in doc.get("output", []) for v in b.values()))

    eks = mods["eks"]
    cluster = blocks(eks, "resource", "aws_eks_cluster")[0]["this"]
    vpc = cluster["vpc_config"][0] if isinstance(cluster["vpc_config"], list) else cluster["vpc_config"]
    check("eks: private API endpoint only", vpc["endpoint_public_access"] is False, vpc)
    check("eks: secrets encrypted with a KMS key", cluster["encryption_config"][0]["resources"] == ["secrets"])
    check("eks: three gateway addresses", blocks(eks, "resource", "aws_eip")[0]["gateway"]["count"] == 3)
    aks = mods["aks"]
    aks_cluster = blocks(aks, "resource", "azurerm_kubernetes_cluster")[0]["this"]
    check("aks: no local accounts, network policy", aks_cluster["local_account_disabled"] is True
          and aks_cluster["network_profile"][0]["network_policy"] == "azure")
    check("aks: three gateway addresses", blocks(aks, "resource", "azurerm_public_ip")[0]["gateway"]["count"] == 3)
    fed = mods["fedagent"]
    overlays = blocks(fed, "data", "kustomization_overlay")
    names = {n for o in overlays for n in o}
    check("fedagent: installs both overlays", names == {"eks", "aks"}, names)
    wan = [o[n]["config_map_generator"][0] for o in overlays for n in o]
    check("fedagent: replaces both overlays' WAN files", all(g["name"] == "fedagent-server-wan" and g["behavior"] == "replace" for g in wan))
    outputs = {k for b in eks.get("output", []) for k in b} | {k for b in aks.get("output", []) for k in b}
    check("the cluster modules output the gateway addresses fedagent/ takes", "gateway_addresses" in outputs)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
