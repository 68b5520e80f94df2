"""Two clusters in podman: the eks overlay (dc1) and the aks overlay (dc2),
each on its own network (its pod network), their server pods also on a
third network standing for the path between the clouds' load balancers.

State lives in the lab directory (state.json), so each command of
scripts/kube-demo.sh can act on the lab the previous one made."""

import json
import os
import subprocess
import time

import yaml

from . import convert, pods

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OVERLAYS = os.path.join(REPO, "deploy", "kubernetes", "overlays")
# cluster name -> (datacenter, third octet of its pod network, first WAN host number)
CLUSTERS = {"eks": ("dc1", 1, 10), "aks": ("dc2", 2, 20)}
WAN_OCTET = 3
SERVER_SET = "fedagent-server"


class Lab:
    def __init__(self, directory):
        self.dir = os.path.abspath(directory)
        self.state_file = os.path.join(self.dir, "state.json")
        self.state = json.load(open(self.state_file)) if os.path.exists(self.state_file) else None

    def save(self):
        tmp = self.state_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.state, f, indent=1)
        os.replace(tmp, self.state_file)

    # --- set-up -----------------------------------------------------------

    def create(self, tag, subnet_prefix, image, binary):
        os.makedirs(self.dir, exist_ok=True)
        self.state = {"tag": tag, "prefix": subnet_prefix, "image": image, "networks": [],
                      "pods": {}, "next_host": {c: 10 for c in CLUSTERS}}
        self.save()
        for name, octet in [(c, o) for c, (_, o, _) in CLUSTERS.items()] + [("wan", WAN_OCTET)]:
            net = f"{tag}-{name}"
            pods.create_network(net, f"{subnet_prefix}.{octet}.0/24")
            self.state["networks"].append(net)
            self.save()
        secrets = self.make_secrets(binary)
        for cluster in CLUSTERS:
            self.render(cluster, image)
        self.save()
        return secrets

    def gateway(self, cluster):
        return f"{self.state['prefix']}.{CLUSTERS[cluster][1]}.1"

    def wan_ip(self, cluster, index):
        return f"{self.state['prefix']}.{WAN_OCTET}.{CLUSTERS[cluster][2] + index}"

    def make_secrets(self, binary):
        """The Secrets the manifests mount, made as an operator would: fedagent keygen,
        fedagent tls (a CA for the federation, server and client certificates per
        datacenter), an ACL management token (also every agent's default token)."""
        work = os.path.join(self.dir, "secrets")
        os.makedirs(work, mode=0o700, exist_ok=True)
        run = lambda *args, cwd=work: subprocess.run([binary, *args], cwd=cwd, check=True,
                                                     capture_output=True, text=True).stdout.strip()
        key = run("keygen")
        run("tls", "ca", "create")
        token = open("/proc/sys/kernel/random/uuid").read().strip()
        acl = {"acl": {"enabled": True, "default_policy": "deny",
                       "tokens": {"initial_management": token, "agent": token, "default": token}}}
        secrets = {}
        for cluster, (dc, _, _) in CLUSTERS.items():
            made = {"fedagent-gossip": {"gossip.json": json.dumps({"encrypt": key}).encode()},
                    "fedagent-acl": {"acl.json": json.dumps(acl).encode()}}
            for role, secret in (("server", "fedagent-tls"), ("client", "fedagent-client-tls")):
                out = os.path.join(work, f"{cluster}-{role}")
                os.makedirs(out, exist_ok=True)
                run("tls", "cert", "create", f"-{role}", "-dc", dc, "-ca", "../consul-agent-ca.pem",
                    "-key", "../consul-agent-ca-key.pem", cwd=out)
                cert = f"{dc}-{role}-consul-0"
                tls = {"tls": {"defaults": {"ca_file": "/etc/fedagent/tls/consul-agent-ca.pem",
                                            "cert_file": f"/etc/fedagent/tls/{cert}.pem",
                                            "key_file": f"/etc/fedagent/tls/{cert}-key.pem",
                                            "verify_incoming": True, "verify_outgoing": True},
                               "internal_rpc": {"verify_server_hostname": True}}}
                files = {"tls.json": json.dumps(tls).encode(),
                         "consul-agent-ca.pem": open(os.path.join(work, "consul-agent-ca.pem"), "rb").read()}
                for suffix in (".pem", "-key.pem"):
                    files[cert + suffix] = open(os.path.join(out, cert + suffix), "rb").read()
                made[secret] = files
            secrets[cluster] = {name: {k: v.decode() for k, v in entries.items()} for name, entries in made.items()}
        self.state["secrets"] = secrets
        self.state["token"] = token
        return secrets

    def render(self, cluster, image):
        """A kustomization over the cluster's overlay with this lab's WAN addresses
        and cluster DNS, as deploy/terraform/fedagent writes one for real clusters."""
        dc = CLUSTERS[cluster][0]
        other = next(c for c in CLUSTERS if c != cluster)
        root = os.path.join(self.dir, "overlays", cluster)
        os.makedirs(os.path.join(root, "wan"), exist_ok=True)
        files = []
        for i in range(3):
            wan = {"advertise_addr_wan": self.wan_ip(cluster, i),
                   "retry_join_wan": [self.wan_ip(other, j) for j in range(3)]}
            with open(os.path.join(root, "wan", f"{SERVER_SET}-{i}.json"), "w") as f:
                json.dump(wan, f)
            files.append(f"{SERVER_SET}-{i}.json=wan/{SERVER_SET}-{i}.json")
        kustomization = {
            "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
            "namespace": "fedagent",
            "resources": [os.path.relpath(os.path.join(OVERLAYS, cluster), root)],
            "configMapGenerator": [
                {"name": "fedagent-datacenter", "behavior": "replace",
                 "literals": [f"DATACENTER={dc}", f"CLUSTER_DNS={self.gateway(cluster)}"]},
                {"name": "fedagent-server-wan", "behavior": "replace", "files": files}]}
        name, _, tag = image.rpartition(":")
        if image != "localhost/fedagent:0.1.0":
            kustomization["images"] = [{"name": "localhost/fedagent", "newName": name, "newTag": tag}]
        with open(os.path.join(root, "kustomization.yaml"), "w") as f:
            yaml.safe_dump(kustomization, f, sort_keys=False)
        rendered = subprocess.run(["kubectl", "kustomize", root], check=True, capture_output=True, text=True).stdout
        with open(os.path.join(self.dir, f"{cluster}.yaml"), "w") as f:
            f.write(rendered)

    def objects(self, cluster):
        return [o for o in yaml.safe_load_all(open(os.path.join(self.dir, f"{cluster}.yaml"))) if o]

    # --- pods -------------------------------------------------------------

    def desired(self, cluster):
        """{pod name: Pod object} as the controllers would make them."""
        objects = self.objects(cluster)
        return {name: convert.pod_object(name, owner, kind, index)
                for name, owner, kind, index in convert.workload_pods(objects)}

    def launch(self, cluster, name):
        """Creates (or re-creates) one pod with the next free address; returns its record."""
        objects = self.objects(cluster)
        pod = self.desired(cluster)[name]
        tag = self.state["tag"]
        host = self.state["next_host"][cluster]
        self.state["next_host"][cluster] = host + 1
        ip = f"{self.state['prefix']}.{CLUSTERS[cluster][1]}.{host}"
        podman_name = f"{tag}-{cluster}-{name}"
        pod_dir = os.path.join(self.dir, "pods", cluster, name)
        claims = os.path.join(self.dir, "claims", cluster)
        secrets = {k: {f: v.encode() for f, v in e.items()} for k, e in self.state["secrets"][cluster].items()}
        spec, sysctls, readiness = pods.build_pod(objects, pod, podman_name, ip, pod_dir, claims, secrets)
        spec_file = os.path.join(self.dir, "pods", cluster, f"{name}.yaml")
        pods.write_spec(spec_file, spec)
        networks = [(f"{tag}-{cluster}", ip, convert.dns_names(objects, pod))]
        balancers = convert.load_balancers(objects, pod)
        wan = None
        if balancers:
            wan = self.wan_ip(cluster, int(name.rsplit("-", 1)[1]))
            networks.append((f"{tag}-wan", wan, []))
        key = f"{cluster}/{name}"
        record = {"cluster": cluster, "name": name, "podman_name": podman_name, "ip": ip, "wan_ip": wan,
                  "readiness": readiness, "grace": pod["spec"].get("terminationGracePeriodSeconds", 30),
                  "load_balancers": balancers}
        record["id"] = pods.play(spec_file, pod, networks)
        self.state["pods"][key] = record
        self.save()
        pods.start(record["id"], sysctls)
        return record

    def up(self, timeout):
        """Every pod of both clusters, started together; returns seconds until all are ready."""
        began = time.monotonic()
        for cluster in CLUSTERS:
            for name in self.desired(cluster):
                self.launch(cluster, name)
        pods.wait_ready(self.state["pods"], began + timeout)
        return time.monotonic() - began

    def delete(self, key):
        rec = self.state["pods"].pop(key)
        self.save()
        pods.remove(rec["id"], rec["grace"])
        return rec

    def recreate(self, keys, timeout):
        """Deletes the pods, then creates them again under the same names (new addresses),
        as their controller would; waits until they are ready."""
        for key in keys:
            self.delete(key)
        began = time.monotonic()
        made = {key: self.launch(*key.split("/", 1)) for key in keys}
        pods.wait_ready(made, began + timeout)
        return made

    def container(self, key, container):
        return f"{self.state['pods'][key]['podman_name']}-{container}"

    def down(self):
        if not self.state:
            return
        for key in list(self.state["pods"]):
            rec = self.state["pods"].pop(key)
            pods.podman("pod", "rm", "-f", "-t", "0", rec["id"], check=False)
        for net in self.state["networks"]:
            pods.podman("network", "rm", "-f", net, check=False)
        self.state["networks"] = []
        self.save()
        pods.clear(self.dir)
        self.state = None
