#!/usr/bin/env python3
"""Blocking-query fan-out: N watchers on one agent, one change answers all.

Usage: python3 bench/watchers.py [--bin PATH] [--watchers 10000]
Starts `fedagent agent -dev` on 127.0.0.1 (HTTP 8502, gossip 18302), parks
N blocking queries (GET /v1/health/service/web?index=I&wait=5m over N
connections), registers a service, and reports how long until every
watcher was answered and the agent's RSS with all watchers parked.
Everything stays on 127.0.0.1; the agent is stopped by its PID at the end.
"""
import argparse
import asyncio
import os
import resource
import signal
import subprocess
import time
import urllib.request

HTTP = ("127.0.0.1", 8502)


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def watcher(index, parked, answered):
    reader, writer = await asyncio.open_connection(*HTTP)
    writer.write(f"GET /v1/health/service/web?index={index}&wait=5m HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    await writer.drain()
    parked.append(1)
    await reader.readuntil(b"\r\n\r\n")
    answered.append(time.monotonic())
    writer.close()


async def main_async(n, pid):
    with urllib.request.urlopen(f"http://{HTTP[0]}:{HTTP[1]}/v1/health/service/web") as r:
        index = r.headers["X-Consul-Index"]
    parked, answered = [], []
    tasks = []
    for i in range(n):
        tasks.append(asyncio.create_task(watcher(index, parked, answered)))
        if i % 500 == 499:
            await asyncio.sleep(0.05)
    while len(parked) < n:
        await asyncio.sleep(0.1)
    await asyncio.sleep(2)  # let the agent read every request
    rss = rss_mib(pid)
    early = len(answered)
    start = time.monotonic()
    body = b'{"Name":"web","Port":8080}'
    req = urllib.request.Request(f"http://{HTTP[0]}:{HTTP[1]}/v1/agent/service/register", data=body, method="PUT")
    urllib.request.urlopen(req).read()
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=60)
    last = max(answered) - start
    print(f"watchers={n} answered_before_change={early} all_answered_s={last:.3f} agent_rss_mib_parked={rss:.1f}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", default=".build-bench/release/fedagent")
    p.add_argument("--watchers", type=int, default=10000)
    a = p.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    agent = subprocess.Popen([a.bin, "agent", "-dev", "-node", "watch", "-http-port", str(HTTP[1]),
                              "-serf-lan-port", "18302", "-dns-port", "0", "-log-level", "warn"])
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://{HTTP[0]}:{HTTP[1]}/v1/status/leader").read()
                break
            except OSError:
                time.sleep(0.1)
        asyncio.run(main_async(a.watchers, agent.pid))
    finally:
        agent.send_signal(signal.SIGKILL)
        agent.wait()


if __name__ == "__main__":
    main()
