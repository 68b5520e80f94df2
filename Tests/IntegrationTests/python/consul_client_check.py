"""Drives a fedagent agent with py-consul, an unmodified Consul client.

Usage: python3 consul_client_check.py HOST PORT
Prints one line per check and exits non-zero at the first failure.
"""
import sys
import threading
import time

import consul


def main() -> int:
    host, port = sys.argv[1], int(sys.argv[2])
    c = consul.Consul(host=host, port=port)

    def check(name, ok, detail=""):
        print(("ok   " if ok else "FAIL ") + name + ("" if ok else f": {detail}"), flush=True)
        if not ok:
            raise SystemExit(1)

    me = c.agent.self()["Config"]["NodeName"]
    check("agent.self names the node", bool(me))
    check("agent.members lists this node", any(m["Name"] == me for m in c.agent.members()))

    c.agent.service.register("web", service_id="web-1", port=8080, tags=["v1", "primary"],
                             check=consul.Check.ttl("30s"))
    c.agent.service.register("web", service_id="web-2", port=8081, tags=["v2"])
    services = c.agent.services()
    check("agent.services has both instances", set(services) >= {"web-1", "web-2"}, services)

    index, nodes = c.catalog.service("web")
    check("catalog.service lists 2 instances", sorted(n["ServiceID"] for n in nodes) == ["web-1", "web-2"], nodes)
    check("X-Consul-Index is a positive number", int(index) >= 1, index)
    _, tagged = c.catalog.service("web", tag="v1")
    check("catalog.service tag filter", [n["ServiceID"] for n in tagged] == ["web-1"], tagged)

    _, passing = c.health.service("web", passing=True)
    check("health passing excludes the critical TTL instance",
          sorted(e["Service"]["ID"] for e in passing) == ["web-2"], passing)
    c.agent.check.ttl_pass("service:web-1", notes="all good")
    _, passing = c.health.service("web", passing=True)
    check("after ttl_pass both instances pass", sorted(e["Service"]["ID"] for e in passing) == ["web-1", "web-2"], passing)
    _, v2 = c.health.service("web", tag="v2")
    check("health tag filter", [e["Service"]["ID"] for e in v2] == ["web-2"], v2)

    # A blocking query that returns on a change...
    index, _ = c.health.service("web")
    result = {}

    def watch():
        start = time.time()
        result["index"], result["entries"] = c.health.service("web", index=index, wait="30s")
        result["took"] = time.time() - start

    t = threading.Thread(target=watch)
    t.start()
    time.sleep(0.5)
    c.agent.service.deregister("web-2")
    t.join(60)
    check("blocking query returns on a change", "took" in result and result["took"] < 25, result)
    check("its index moved on", int(result["index"]) > int(index), result)
    check("and shows the deregistration", [e["Service"]["ID"] for e in result["entries"]] == ["web-1"], result)

    # ...and one that waits for its deadline when nothing changes.
    index, _ = c.health.service("web")
    start = time.time()
    index2, _ = c.health.service("web", index=index, wait="2s")
    waited = time.time() - start
    check("blocking query without change waits", waited >= 1.5, waited)
    check("and keeps its index", int(index2) == int(index), (index, index2))

    # ...and one that a change to another service does not wake.
    index, _ = c.health.service("web")
    timer = threading.Timer(0.5, lambda: c.agent.service.register("db", service_id="db-1", port=5432))
    timer.start()
    start = time.time()
    _, same = c.health.service("web", index=index, wait="3s")
    waited = time.time() - start
    timer.join()
    check("a watcher of web sleeps through a change to db", waited >= 2.5, waited)
    check("and then sees web as it was", [e["Service"]["ID"] for e in same] == ["web-1"], same)
    c.agent.service.deregister("db-1")

    # Checks registered on their own, several on one service: a script
    # check (the test agent enables them) and an HTTP check.
    c.agent.service.register("api", service_id="api-1", port=9090, tags=["edge"])
    c.agent.check.register("api script", check=consul.Check.script(["/bin/sh", "-c", "echo up"], "1s"),
                           check_id="api-script", service_id="api-1")
    c.agent.check.register("api http", check=consul.Check.http(f"http://{host}:{port}/v1/status/leader", "1s"),
                           check_id="api-http", service_id="api-1")
    deadline = time.time() + 30
    states = {}
    while time.time() < deadline:
        checks = c.agent.checks()
        states = {k: checks.get(k, {}).get("Status") for k in ("api-script", "api-http")}
        if states == {"api-script": "passing", "api-http": "passing"}:
            break
        time.sleep(0.2)
    check("script and HTTP checks registered through the client pass", states == {"api-script": "passing", "api-http": "passing"}, states)
    check("the script's output is the check's", c.agent.checks()["api-script"]["Output"] == "up\n", c.agent.checks()["api-script"])
    check("agent.services filter", set(c.agent.services(filter_expr='Service == "api"')) == {"api-1"},
          c.agent.services(filter_expr='Service == "api"'))
    _, edge = c.health.service("api", filter_expr='"edge" in Service.Tags and Checks.CheckID == "api-http"')
    check("health.service filter", [e["Service"]["ID"] for e in edge] == ["api-1"], edge)
    _, none = c.catalog.service("api", filter_expr="ServicePort != 9090")
    check("catalog.service filter", none == [], none)
    c.agent.check.deregister("api-script")
    check("check deregister", "api-script" not in c.agent.checks() and "api-http" in c.agent.checks(), c.agent.checks())
    check("agent.reload", c.agent.reload() is not False)
    c.agent.service.deregister("api-1")

    # Network coordinates and user events, through the client's own API.
    _, nodes = c.coordinate.nodes()
    mine = [n for n in nodes if n["Node"] == me]
    check("coordinate.nodes has this node's 8-dimensional coordinate", len(mine) == 1 and len(mine[0]["Coord"]["Vec"]) == 8, nodes)
    _, node = c.coordinate.node(me)
    check("coordinate.node", [n["Node"] for n in node] == [me], node)
    moved = dict(mine[0]["Coord"], Height=0.0125)
    check("coordinate.update", c.coordinate.update(me, moved) is True)
    _, node = c.coordinate.node(me)
    check("the update shows", abs(node[0]["Coord"]["Height"] - 0.0125) < 1e-9, node)
    index, before = c.event.list(name="py-deploy")
    check("event.list starts empty", before == [], before)
    fired = c.event.fire("py-deploy", body="build 7", service="^web$")
    check("event.fire answers the event's ID", len(fired.get("ID", "")) == 36, fired)
    index2, events = c.event.list(name="py-deploy", index=index, wait="30s")
    check("a blocking event.list returns with the new event",
          [(e["ID"], e["Payload"]) for e in events] == [(fired["ID"], b"build 7")] and index2 != index, events)

    c.agent.service.deregister("web-1")
    check("deregister removes the service", "web-1" not in c.agent.services())
    _, leftover = c.catalog.service("web")
    check("catalog no longer lists web", leftover == [], leftover)
    return 0


if __name__ == "__main__":
    sys.exit(main())
