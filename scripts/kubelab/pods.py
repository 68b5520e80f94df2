"""The lab's podman side: networks, pods played from convert.py's specs, the
kubelet's chores around them (volume files, sysctls, readiness probes),
and removal. Every pod is addressed by the ID podman gave it."""

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request

import yaml

from . import convert


def podman(*args, check=True, timeout=300):
    r = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"podman {' '.join(args)}: {r.stderr.strip() or r.stdout.strip()}")
    return r


def subnets_in_use():
    used = set()
    for name in podman("network", "ls", "--format", "{{.Name}}").stdout.split():
        info = json.loads(podman("network", "inspect", name).stdout)
        for net in info:
            used.update(s["subnet"] for s in net.get("subnets") or [])
    return used


def create_network(name, subnet):
    if subnet in subnets_in_use():
        raise RuntimeError(f"subnet {subnet} is in use by another podman network; set KUBE_LAB_SUBNET")
    podman("network", "create", "--subnet", subnet, name)


def materialize(plan):
    """Writes the volumes' directories and files as the kubelet would."""
    for _, path, files, dir_mode, gid in plan:
        os.makedirs(path, exist_ok=True)
        os.chown(path, 0, gid)
        os.chmod(path, dir_mode)
        for name, (data, mode) in (files or {}).items():
            file = os.path.join(path, name)
            with open(os.open(file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
                f.write(data)
            os.chown(file, 0, gid)
            os.chmod(file, mode)


def play(spec_file, pod, networks):
    """Creates the pod (not started). networks: [(network, ip, [aliases])]. Returns its ID."""
    args = ["kube", "play", "--start=false"]
    for net, ip, aliases in networks:
        args += ["--network", ",".join([f"{net}:ip={ip}"] + [f"alias={a}" for a in aliases])]
    out = podman(*args, spec_file).stdout.split()
    return out[out.index("Pod:") + 1]


def start(pod_id, sysctls):
    """Starts the pod's infra container, applies the pod's sysctls to its network
    namespace (only namespaced net.* ones, as Kubernetes' safe set), then the rest."""
    info = json.loads(podman("pod", "inspect", pod_id).stdout)
    infra = (info[0] if isinstance(info, list) else info)["InfraContainerID"]
    podman("start", infra)
    pid = podman("inspect", "--format", "{{.State.Pid}}", infra).stdout.strip()
    for s in sysctls:
        if not s["name"].startswith("net."):
            raise ValueError(f"sysctl {s['name']}: the lab applies only net.* sysctls")
        subprocess.run(["nsenter", f"--net=/proc/{pid}/ns/net", "sysctl", "-q", "-w",
                        f"{s['name']}={s['value']}"], check=True)
    podman("pod", "start", pod_id)


def remove(pod_id, grace):
    """Stops the pod as Kubernetes deletes one (SIGTERM, then SIGKILL after the grace
    period) and removes it."""
    podman("pod", "stop", "-t", str(grace), pod_id, check=False, timeout=grace + 60)
    podman("pod", "rm", "-f", pod_id, check=False)


def probe_ok(container, ip, probe, ports):
    if "exec" in probe:
        r = podman("exec", container, *probe["exec"]["command"], check=False, timeout=30)
        return r.returncode == 0
    if "httpGet" in probe:
        get = probe["httpGet"]
        port = ports.get(get["port"], get["port"])
        try:
            with urllib.request.urlopen(f"http://{ip}:{port}{get.get('path', '/')}", timeout=3) as r:
                return 200 <= r.status < 400
        except OSError:
            return False
    if "tcpSocket" in probe:
        port = ports.get(probe["tcpSocket"]["port"], probe["tcpSocket"]["port"])
        try:
            socket.create_connection((ip, port), timeout=3).close()
            return True
        except OSError:
            return False
    raise ValueError(f"probe {sorted(probe)} is not one the lab runs")


def wait_ready(pods, deadline):
    """Polls every pod's readiness probes until all pass; pods: {key: record}."""
    waiting = dict(pods)
    while waiting:
        for key, rec in list(waiting.items()):
            if all(probe_ok(f"{rec['podman_name']}-{c}", rec["ip"], p["probe"], p["ports"])
                   for c, p in rec["readiness"].items()):
                del waiting[key]
        if waiting and time.monotonic() > deadline:
            raise TimeoutError(f"not ready: {', '.join(sorted(waiting))}")
        if waiting:
            time.sleep(1)


def write_spec(path, spec):
    with open(path, "w") as f:
        yaml.safe_dump(spec, f, sort_keys=False)


def clear(path):
    shutil.rmtree(path, ignore_errors=True)


def build_pod(objects, pod, podman_name, ip, pod_dir, claims_dir, secrets):
    """Plans and writes a pod's volumes; returns (playable spec, sysctls, readiness)."""
    plan = convert.volume_plan(objects, pod, pod_dir, claims_dir, secrets)
    clear(pod_dir)
    materialize(plan)
    spec, sysctls, readiness = convert.playable(objects, pod, ip, plan)
    spec["metadata"]["name"] = podman_name
    return spec, sysctls, readiness
