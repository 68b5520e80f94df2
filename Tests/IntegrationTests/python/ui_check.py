"""Drives the web UI in headless Chromium over the DevTools protocol.

Usage: python3 ui_check.py CHROMIUM UI_URL AGENT_HTTP SCREENSHOT_DIR
  UI_URL      the agent's /ui/ (a server of dc1, federated with dc2)
  AGENT_HTTP  the agent whose `web` TTL check the script fails (http://ip:port)
Expects: services web (dc1, passing) and api (dc2), a failed LAN member `uifail`.
Prints one line per check; exits non-zero at the first failure. Chromium is
started here, in its own process group, and killed by PID on the way out;
its DevTools port is one the system picks on 127.0.0.1 (Chromium binds
nothing else), read from the profile's DevToolsActivePort.
"""
import base64
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request


class DevTools:
    """A minimal WebSocket client (RFC 6455, client frames masked) for one page target."""

    def __init__(self, ws_url):
        host_port, path = ws_url[len("ws://"):].split("/", 1)
        host, port = host_port.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /{path} HTTP/1.1\r\nHost: {host_port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.sock.recv(1)
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise RuntimeError(f"no websocket upgrade: {head!r}")
        self.next_id = 0

    def _send(self, text):
        data = text.encode()
        mask = os.urandom(4)
        header = bytes([0x81])
        n = len(data)
        header += bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + n.to_bytes(2, "big") if n < 65536 else bytes([0x80 | 127]) + n.to_bytes(8, "big")
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def _exactly(self, n):
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise RuntimeError("devtools connection closed")
            out += chunk
        return out

    def _receive(self):
        message = b""
        while True:
            b0, b1 = self._exactly(2)
            n = b1 & 0x7F
            if n == 126:
                n = int.from_bytes(self._exactly(2), "big")
            elif n == 127:
                n = int.from_bytes(self._exactly(8), "big")
            payload = self._exactly(n)
            message += payload
            if b0 & 0x80:
                return json.loads(message)

    def call(self, method, **params):
        self.next_id += 1
        self._send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            reply = self._receive()
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def js(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        return result.get("result", {}).get("value")


def main() -> int:
    chromium, ui, agent, shots = sys.argv[1:5]
    os.makedirs(shots, exist_ok=True)
    profile = tempfile.mkdtemp(prefix="fedagent-ui-chromium-")
    browser = subprocess.Popen([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                                "--remote-debugging-port=0",
                                f"--user-data-dir={profile}", "--window-size=1200,900", "about:blank"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        return run(ui, agent, shots, profile)
    finally:
        os.killpg(browser.pid, signal.SIGKILL)
        browser.wait()
        subprocess.run(["rm", "-rf", profile])


def run(ui, agent, shots, profile):
    def check(name, ok, detail=""):
        print(("ok   " if ok else "FAIL ") + name + ("" if ok else f": {detail}"), flush=True)
        if not ok:
            raise SystemExit(1)

    def eventually(name, probe, timeout=30):
        deadline, last = time.time() + timeout, None
        while time.time() < deadline:
            ok, last = probe()
            if ok:
                return check(name, True)
            time.sleep(0.25)
        check(name, False, last)

    targets = None
    for _ in range(240):
        try:
            with open(os.path.join(profile, "DevToolsActivePort")) as f:
                port = int(f.readline())
            targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=2))
            break
        except (OSError, ValueError):
            time.sleep(0.25)
    page = next(t for t in targets or [] if t.get("type") == "page")
    tools = DevTools(page["webSocketDebuggerUrl"])
    tools.call("Page.enable")

    def shot(name):
        data = base64.b64decode(tools.call("Page.captureScreenshot", format="png")["data"])
        with open(os.path.join(shots, name + ".png"), "wb") as f:
            f.write(data)

    def status_of(selector):
        return tools.js(f"(document.querySelector({json.dumps(selector)}) || {{}}).textContent")

    tools.call("Page.navigate", url=ui)
    eventually("the page lists both datacenters",
               lambda: (tools.js("[...document.querySelectorAll('#dc option')].map(o => o.value).join(',')") == "dc1,dc2",
                        tools.js("document.body.innerText")))
    eventually("web is passing in dc1", lambda: (status_of('tr[data-service="web"] .s') == "passing", tools.js("document.body.innerText")))
    check("the page fetched nothing from elsewhere",
          tools.js("performance.getEntriesByType('resource').every(e => e.name.startsWith(location.origin))"))
    check("the page is small", tools.js("document.documentElement.outerHTML.length") < 100_000)
    shot("services-passing")

    request = urllib.request.Request(f"{agent}/v1/agent/check/fail/service:web?note=ui-test", method="PUT")
    urllib.request.urlopen(request, timeout=10).read()
    eventually("web turns critical without a reload", lambda: (status_of('tr[data-service="web"] .s') == "critical",
                                                               status_of('tr[data-service="web"] .s')))
    check("no reload happened", tools.js("performance.getEntriesByType('navigation').length") == 1)
    shot("services-critical")

    tools.js("location.hash = '#/services/web'")
    eventually("the instance detail shows the failed check's note",
               lambda: ("ui-test" in (tools.js("document.querySelector('main').innerText") or ""), tools.js("document.querySelector('main').innerText")))
    shot("instance")

    tools.js("location.hash = '#/members'")
    eventually("the members view lists the failed member", lambda: (status_of('tr[data-member="uifail"] .s') == "failed",
                                                                   tools.js("document.querySelector('main').innerText")))
    check("WAN members are listed", "s2.dc2" in (tools.js("document.querySelector('main').innerText") or ""))
    shot("members")

    tools.js("location.hash = '#/services'; const s = document.getElementById('dc'); s.value = 'dc2'; s.dispatchEvent(new Event('change'))")
    eventually("switching to dc2 lists dc2's services", lambda: (status_of('tr[data-service="api"] .s') == "passing",
                                                                tools.js("document.querySelector('main').innerText")))
    check("and not dc1's", tools.js("document.querySelector('tr[data-service=\"web\"]') === null"))

    tools.call("Emulation.setDeviceMetricsOverride", width=390, height=844, deviceScaleFactor=2, mobile=True)
    time.sleep(0.5)
    check("on a phone screen nothing overflows sideways", tools.js("document.documentElement.scrollWidth") <= 390,
          tools.js("document.documentElement.scrollWidth"))
    shot("phone")
    return 0


if __name__ == "__main__":
    sys.exit(main())
