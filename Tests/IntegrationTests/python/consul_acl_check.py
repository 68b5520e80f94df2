"""ACLs on three fedagent agents, driven by py-consul (unmodified).

Usage: python3 consul_acl_check.py SERVER_HOST SERVER_PORT CLIENT1_HOST CLIENT1_PORT CLIENT2_HOST CLIENT2_PORT
The agents run with acl.enabled and default_policy "deny". Prints one line
per check and exits non-zero at the first failure.
"""
import json
import sys
import time
import urllib.request
import uuid

import consul


def main() -> int:
    server, client1, client2 = [(sys.argv[i], int(sys.argv[i + 1])) for i in (1, 3, 5)]

    def check(name, ok, detail=""):
        print(("ok   " if ok else "FAIL ") + name + ("" if ok else f": {detail}"), flush=True)
        if not ok:
            raise SystemExit(1)

    def eventually(name, probe, timeout=60):
        deadline, last = time.time() + timeout, None
        while time.time() < deadline:
            try:
                ok, last = probe()
                if ok:
                    return check(name, True)
            except consul.ConsulException as e:
                last = repr(e)
            time.sleep(0.3)
        check(name, False, last)

    def denied(call):
        try:
            call()
        except consul.ACLPermissionDenied as e:
            return str(e)
        return None

    anonymous = consul.Consul(host=server[0], port=server[1])
    root = anonymous.acl.bootstrap()
    secret = root["SecretID"]
    check("bootstrap returns a management token", root["Policies"][0]["Name"] == "global-management", root)
    again = denied(anonymous.acl.bootstrap)
    check("a second bootstrap is ACLPermissionDenied", again is not None and "ACL bootstrap no longer allowed" in again, again)

    manager1 = consul.Consul(host=client1[0], port=client1[1], token=secret)
    eventually("the bootstrap token reaches client1 (gossip)", lambda: (isinstance(manager1.agent.services(), dict), None))
    manager1.agent.service.register("web", service_id="web-1", port=8080)
    manager1.agent.service.register("db", service_id="db-1", port=5432)
    manager2 = consul.Consul(host=client2[0], port=client2[1], token=secret)
    eventually("client2's catalog lists web and db (management token)",
               lambda: ({"web", "db"} <= set(manager2.catalog.services()[1]), manager2.catalog.services()[1]))

    stranger = consul.Consul(host=client2[0], port=client2[1])
    _, seen = stranger.catalog.services()
    check("default deny hides every service from an anonymous read", "web" not in seen and "db" not in seen, seen)

    manager = consul.Consul(host=server[0], port=server[1], token=secret)
    policy = manager.acl.policy.create("web-read", rules={"service_prefix": {"web": {"policy": "read"}}})
    check("a policy in Consul's JSON rule form is created", policy["Name"] == "web-read", policy)
    token = manager.acl.token.create(description="web reader", policies_name=["web-read"])
    reader = consul.Consul(host=client2[0], port=client2[1], token=token["SecretID"])
    eventually("a web-read token sees web and only web on client2",
               lambda: (set(reader.catalog.services()[1]) == {"web"}, reader.catalog.services()[1]))
    check("token/self names the token", reader.acl.token.read_self()["AccessorID"] == token["AccessorID"])

    why = denied(lambda: reader.agent.service.register("evil", port=1))
    check("a write without service:write is ACLPermissionDenied with Consul's text",
          why is not None and f"token with AccessorID '{token['AccessorID']}' lacks permission 'service:write' on \"evil\"" in why, why)
    check("nothing was registered", "evil" not in manager2.agent.services())
    why = denied(lambda: consul.Consul(host=client2[0], port=client2[1], token=str(uuid.uuid4())).catalog.services())
    check("an unknown token is ACLPermissionDenied: ACL not found", why is not None and "ACL not found" in why, why)
    why = denied(lambda: reader.acl.policy.create("mine", rules={"service_prefix": {"": {"policy": "write"}}}))
    check("a token without acl:write cannot create a policy", why is not None and "acl:write" in why, why)

    why = denied(lambda: reader.event.fire("deploy", body="x"))
    check("an event without event:write is ACLPermissionDenied", why is not None and "event:write" in why, why)
    fired = manager2.event.fire("deploy", body="y")

    def events(host, port, token):
        # py-consul's event.list sends no token (it is always anonymous): the list is read directly.
        request = urllib.request.Request(f"http://{host}:{port}/v1/event/list", headers={"X-Consul-Token": token})
        with urllib.request.urlopen(request, timeout=10) as answer:
            return [e["ID"] for e in json.load(answer)]

    eventually("the management token's event reaches client1's list",
               lambda: (fired["ID"] in events(*client1, secret), events(*client1, secret)))
    check("a token without event:read lists no events", events(*client1, token["SecretID"]) == [])
    _, anonymous_events = stranger.event.list()
    check("nor does the anonymous token (py-consul's event.list)", anonymous_events == [], anonymous_events)

    manager.acl.token.delete(token["AccessorID"])
    eventually("a deleted token stops working on client2",
               lambda: (denied(reader.catalog.services) is not None, "still answered"))
    print("ok   acl checks done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
