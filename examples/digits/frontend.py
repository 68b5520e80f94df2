#!/usr/bin/env python3
"""Digit-classifier frontend: serves the `upload-image` page and relays the
browser's requests to the backend, normally through the local upstream port
that the fedagent agent next to it provides. Standard library only.

  GET  /                  -> redirect to /upload-image
  GET  /upload-image      -> the page (?demo=<digit> draws a sample and predicts)
  POST /api/predict       -> backend POST /predict
  GET  /api/sample/<d>    -> backend GET /sample/<d>
  GET  /health            -> {"status": "ok", "backend_url": ...}
"""
import argparse
import http.client
import json
import logging
import os
import signal
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

MAX_BODY = 1 << 20
TIMEOUT = 10  # seconds to wait for the backend before answering 502
PAGE = (Path(__file__).with_name("upload-image.html")).read_bytes()
log = logging.getLogger("digits-frontend")


class Handler(BaseHTTPRequestHandler):
    backend = ""
    protocol_version = "HTTP/1.1"

    def send(self, code, body, ctype="application/json", extra=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def send_json(self, code, doc):
        self.send(code, json.dumps(doc).encode())

    def relay(self, method, path, body=None, ctype=None):
        """Forward to the backend. Its own 2xx/4xx answers pass through (a 400
        carries a message about the image); anything else becomes a 502 that
        says which backend failed and how."""
        url = self.backend + path
        req = urllib.request.Request(url, data=body, method=method)
        if ctype:
            req.add_header("Content-Type", ctype)
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
                code, data = r.status, r.read()
        except urllib.error.HTTPError as e:
            code, data = e.code, e.read()
        except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
            reason = getattr(e, "reason", e)
            return self.send_json(502, {"error": f"backend {self.backend} unreachable: {reason}"})
        try:
            doc = json.loads(data)
        except ValueError:
            doc = None
        if code >= 500 or not isinstance(doc, dict):
            return self.send_json(502, {"error": f"backend {self.backend} answered HTTP {code}"
                                        + ("" if isinstance(doc, dict) else " without JSON"),
                                        "detail": doc})
        self.send_json(code, doc)

    def do_GET(self):
        path = urlsplit(self.path).path
        if path == "/":
            self.send(302, b"", "text/plain", [("Location", "/upload-image")])
        elif path == "/upload-image":
            self.send(200, PAGE, "text/html; charset=utf-8")
        elif path.startswith("/api/sample/") and path[12:] in set("0123456789"):
            query = urlsplit(self.path).query
            self.relay("GET", f"/sample/{path[12:]}" + (f"?{query}" if query else ""))
        elif path == "/health":
            self.send_json(200, {"status": "ok", "backend_url": self.backend})
        else:
            self.send_json(404, {"error": f"no such path: {path}"})

    def do_POST(self):
        if urlsplit(self.path).path != "/api/predict":
            return self.send_json(404, {"error": "POST /api/predict only"})
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            return self.send_json(411, {"error": "Content-Length required"})
        if length > MAX_BODY or length < 0:
            self.close_connection = True
            return self.send_json(413, {"error": f"body over {MAX_BODY} bytes"})
        body = self.rfile.read(length)
        ctype = self.headers.get("Content-Type", "application/json")
        self.relay("POST", "/predict", body, ctype)

    def log_message(self, fmt, *args):
        log.info("%s %s", self.address_string(), fmt % args)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="0.0.0.0")
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--backend", default=os.environ.get("BACKEND_URL", "http://127.0.0.1:9191"),
                    help="backend base URL, e.g. the agent's local upstream port "
                         "(default: $BACKEND_URL or http://127.0.0.1:9191)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    Handler.backend = args.backend.rstrip("/")
    srv = ThreadingHTTPServer((args.host, args.port), Handler)
    srv.daemon_threads = True
    log.info("listening on http://%s:%d, backend %s", args.host, args.port, Handler.backend)
    # As PID 1 in a container nothing else ends us: SIGTERM (Kubernetes,
    # podman stop) stops at once instead of waiting for the grace period.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
