"""python3 -m kubelab DIR COMMAND ...: the pod lab's commands (scripts/kube-demo.sh
calls them; the tests call them one by one).

  DIR up TAG SUBNET_PREFIX IMAGE BINARY  networks, Secrets, render, play, wait ready
  DIR verify                              the seed's checks, from inside the pods
  DIR recreate CLUSTER/POD...             delete and re-create under the same names
  DIR delete CLUSTER/POD                  delete (SIGTERM, grace period) and forget
  DIR exec CLUSTER/POD CONTAINER CMD...   run a command in a pod's container
  DIR info                                the lab's pods as JSON
  DIR down                                remove every pod, network and file
"""

import json
import re
import subprocess
import sys
import time

from .lab import CLUSTERS, SERVER_SET, Lab
from .pods import podman

READY_TIMEOUT = 300


def say(text):
    print(text, flush=True)


def members_alive(lab, key, wan):
    out = podman("exec", lab.container(key, "fedagent"), "fedagent", "members", *(["-wan"] if wan else [])).stdout
    rows = [line.split() for line in out.splitlines()[1:] if line.strip()]
    return out, {row[0]: row[2] for row in rows}


def verify(lab):
    servers = {f"{SERVER_SET}-{i}.{dc}" for dc, _, _ in CLUSTERS.values() for i in range(3)}
    failures = []
    for cluster in CLUSTERS:
        key = f"{cluster}/{SERVER_SET}-0"
        deadline = time.monotonic() + 120
        while True:
            out, status = members_alive(lab, key, wan=True)
            if all(status.get(s) == "alive" for s in servers) or time.monotonic() > deadline:
                break
            time.sleep(2)
        say(f"[{key}]$ fedagent members -wan\n{out.rstrip()}")
        if not all(status.get(s) == "alive" for s in servers):
            failures.append(f"{key}: members -wan lacks an alive server of {sorted(servers)}")

    frontend = next(k for k in lab.state["pods"] if k.startswith("eks/digits-frontend-"))
    backends = sorted(r["ip"] for k, r in lab.state["pods"].items() if k.startswith("aks/digits-backend-"))
    lookup = ("import socket; print(' '.join(sorted({a[4][0] for a in "
              "socket.getaddrinfo('backend.service.dc2.consul', 9090, type=socket.SOCK_STREAM)})))")
    deadline = time.monotonic() + 60
    while True:
        r = podman("exec", lab.container(frontend, "frontend"), "python3", "-c", lookup, check=False)
        if r.stdout.split() == backends or time.monotonic() > deadline:
            break
        time.sleep(2)
    say(f"[{frontend} frontend]$ getaddrinfo('backend.service.dc2.consul') -> {r.stdout.strip() or r.stderr.strip()}")
    if r.stdout.split() != backends:
        failures.append(f"getaddrinfo in the frontend gave {r.stdout.split()}, the backend pods are {backends}")

    url = f"http://{lab.state['pods'][frontend]['ip']}:8080/upload-image"
    right = 0
    for digit in (3, 5, 8):
        dom = subprocess.run(["timeout", "-k", "5", "60", "chromium", "--headless", "--no-sandbox",
                              "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                              f"--user-data-dir={lab.dir}/chrome", "--virtual-time-budget=15000",
                              "--dump-dom", f"{url}?demo={digit}"], capture_output=True, text=True).stdout
        shown = re.search(r'id="prediction">([^<]*)<', dom)
        shown = shown.group(1) if shown else "(nothing)"
        say(f"[host]$ chromium --dump-dom '{url}?demo={digit}' -> #prediction: {shown}")
        right += shown == f"Prediction: {digit}"
    if right < 2:
        failures.append(f"Chromium saw {right} of 3 digits predicted right")
    return failures


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    lab, command, args = Lab(argv[0]), argv[1], argv[2:]
    if command == "up":
        tag, prefix, image, binary = args
        lab.create(tag, prefix, image, binary)
        seconds = lab.up(READY_TIMEOUT)
        say(f"kube play to every pod ready: {seconds:.1f} s ({len(lab.state['pods'])} pods)")
    elif command == "verify":
        failures = verify(lab)
        for f in failures:
            say(f"FAILED: {f}")
        sys.exit(1 if failures else 0)
    elif command == "recreate":
        made = lab.recreate(args, READY_TIMEOUT)
        for key, rec in made.items():
            say(f"{key} re-created at {rec['ip']}, ready")
    elif command == "delete":
        rec = lab.delete(args[0])
        say(f"{args[0]} deleted (was {rec['ip']})")
    elif command == "exec":
        key, container, *cmd = args
        r = podman("exec", lab.container(key, container), *cmd, check=False)
        sys.stdout.write(r.stdout)
        sys.stderr.write(r.stderr)
        sys.exit(r.returncode)
    elif command == "info":
        say(json.dumps(lab.state["pods"], indent=1))
    elif command == "down":
        lab.down()
    else:
        sys.exit(f"unknown command {command}\n{__doc__}")


if __name__ == "__main__":
    main(sys.argv[1:])
