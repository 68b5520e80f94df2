#!/usr/bin/env python3
"""Digit-classifier backend: an SVM trained at start on scikit-learn's bundled
`load_digits` (8x8 images, 1,797 samples; no download), served over HTTP.

  POST /predict        {"pixels": [...]} (square grayscale, 0..255 or 0..1)
                       or a PNG body (Content-Type: image/png)
                       -> {"digit", "probabilities", "backend"}
  GET  /health         -> {"status": "ok", "accuracy", ...}
  GET  /sample/<d>     -> a held-out test image of digit d, 8x8, values 0..16
"""
import argparse
import json
import logging
import math
import os
import signal
import socket
import struct
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

try:
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.svm import SVC
except ImportError as e:  # say how to get it rather than a bare traceback
    raise SystemExit(f"backend.py needs numpy and scikit-learn ({e}): "
                     "apt-get install python3-sklearn, or pip install scikit-learn")

MAX_BODY = 1 << 20          # bytes; bigger requests get 413
MAX_SIDE = 1024             # pixels per side of an input image
log = logging.getLogger("digits-backend")


class BadInput(ValueError):
    """The request's image can't be used; reported as 400."""


class Model:
    def __init__(self, seed=0):
        digits = load_digits()
        xtr, xte, ytr, yte = train_test_split(
            digits.data, digits.target, test_size=0.25,
            random_state=seed, stratify=digits.target)
        # Train on the images as shipped and as to_features() normalises them
        # (cropped, centred, rescaled), since every request goes through it.
        canon = lambda xs: np.array([to_features(x.reshape(8, 8)) for x in xs])
        # gamma/C from the usual grid search on this data set; Platt scaling
        # (probability=True) gives the per-digit probabilities we return.
        self.clf = SVC(gamma=0.001, C=10, probability=True, random_state=seed)
        self.clf.fit(np.vstack([xtr, canon(xtr)]), np.concatenate([ytr, ytr]))
        self.x_test, self.y_test = xte, yte
        # We answer with the argmax of the probabilities for normalised
        # input, so that is what "accuracy" measures; "accuracy_raw" is on
        # the held-out images as shipped.
        hit = lambda xs: float((self.clf.predict_proba(xs).argmax(axis=1) == yte).mean())
        self.accuracy, self.accuracy_raw = hit(canon(xte)), hit(xte)
        self.n_train, self.n_test = len(ytr), len(yte)

    def predict(self, features):
        proba = self.clf.predict_proba(features.reshape(1, 64))[0]
        return int(proba.argmax()), [round(float(p), 4) for p in proba]

    def sample(self, digit, n=0):
        idx = np.flatnonzero(self.y_test == digit)
        i = int(idx[n % len(idx)])
        return i, [int(v) for v in self.x_test[i]]


# ---- input normalisation ---------------------------------------------------

def _area_matrix(src, dst):
    """dst x src matrix that averages (or stretches) a 1-D signal of length
    src onto dst cells by overlap, so any size maps cleanly onto 8."""
    m = np.zeros((dst, src))
    step = src / dst
    for i in range(dst):
        lo, hi = i * step, (i + 1) * step
        for x in range(int(lo), min(src, math.ceil(hi))):
            m[i, x] = min(hi, x + 1) - max(lo, x)
    return m / step


def to_features(img):
    """Square-or-not 2-D intensity array (any range) -> 64 values 0..16 in
    load_digits' layout: ink high, cropped to the ink, centred, 8x8."""
    img = np.asarray(img, dtype=float)
    lo, hi = img.min(), img.max()
    if hi - lo < 1e-6:
        raise BadInput("image is blank")
    img = (img - lo) / (hi - lo)
    # The background dominates the border: if it is light, the ink is dark.
    border = np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]])
    if np.median(border) > 0.5:
        img = 1.0 - img
    ys, xs = np.nonzero(img > 0.2)  # ignore faint noise/antialiasing
    if len(ys) == 0:
        raise BadInput("image is blank")
    img = img[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    h, w = img.shape
    side = max(h, w)  # pad to a square so a "1" stays thin
    sq = np.zeros((side, side))
    top, left = (side - h) // 2, (side - w) // 2
    sq[top:top + h, left:left + w] = img
    r = _area_matrix(side, 8)
    small = r @ sq @ r.T
    return np.round(small / small.max() * 16.0).ravel()


def pixels_from_json(body):
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise BadInput(f"body is not JSON: {e}")
    px = doc.get("pixels") if isinstance(doc, dict) else None
    if not isinstance(px, list) or not px:
        raise BadInput('expected {"pixels": [...]} with a non-empty list')
    if all(isinstance(row, list) for row in px):      # list of rows
        rows = px
    else:                                             # flat, must be square
        side = math.isqrt(len(px))
        if side * side != len(px):
            raise BadInput(f"{len(px)} pixels is not a square image")
        rows = [px[i * side:(i + 1) * side] for i in range(side)]
    if len({len(r) for r in rows}) != 1 or len(rows) != len(rows[0]):
        raise BadInput("pixels must form a square image")
    if len(rows) < 4 or len(rows) > MAX_SIDE:
        raise BadInput(f"image side must be 4..{MAX_SIDE}")
    for r in rows:
        for v in r:
            if isinstance(v, bool) or not isinstance(v, (int, float)) \
                    or not math.isfinite(v) or v < 0 or v > 255:
                raise BadInput("pixel values must be numbers in 0..255 (or 0..1)")
    return np.array(rows, dtype=float)


def decode_png(data):
    """8-bit, non-interlaced grayscale/RGB/gray+alpha/RGBA PNG -> luminance
    array 0..255 with transparency composited on white. Standard library only."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise BadInput("not a PNG")
    pos, idat, hdr = 8, [], None
    try:
        while pos < len(data):
            n, kind = struct.unpack(">I4s", data[pos:pos + 8])
            chunk = data[pos + 8:pos + 8 + n]
            pos += 12 + n
            if kind == b"IHDR":
                hdr = struct.unpack(">IIBBBBB", chunk)
            elif kind == b"IDAT":
                idat.append(chunk)
            elif kind == b"IEND":
                break
        w, h, depth, ctype, _, _, interlace = hdr
    except (struct.error, TypeError) as e:
        raise BadInput(f"broken PNG: {e}")
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(ctype)
    if depth != 8 or channels is None or interlace:
        raise BadInput("PNG must be 8-bit grayscale/RGB(A), not interlaced or paletted")
    if not (0 < w <= MAX_SIDE and 0 < h <= MAX_SIDE):
        raise BadInput(f"PNG must be at most {MAX_SIDE}x{MAX_SIDE}")
    stride = w * channels
    try:  # bounded, so a small body can't inflate into gigabytes
        raw = zlib.decompressobj().decompress(b"".join(idat), h * (stride + 1) + 1)
    except zlib.error as e:
        raise BadInput(f"broken PNG: {e}")
    if len(raw) != h * (stride + 1):
        raise BadInput("PNG data has the wrong length")
    out, prev = bytearray(), bytearray(stride)
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):  # undo the per-row filter (PNG spec, sec. 9)
            a = line[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
            elif f != 0:
                raise BadInput(f"PNG filter {f} is unknown")
        out += line
        prev = line
    px = np.frombuffer(bytes(out), dtype=np.uint8).reshape(h, w, channels).astype(float)
    gray = px[..., 0] if channels <= 2 else px[..., :3] @ [0.299, 0.587, 0.114]
    if channels in (2, 4):
        alpha = px[..., -1] / 255.0
        gray = gray * alpha + 255.0 * (1 - alpha)
    return gray


# ---- HTTP ------------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    model: Model = None
    node = ""
    protocol_version = "HTTP/1.1"

    def send_json(self, code, doc):
        body = json.dumps(doc).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urlsplit(self.path)
        parts = url.path.strip("/").split("/")
        if url.path == "/health":
            m = self.model
            self.send_json(200, {"status": "ok", "accuracy": round(m.accuracy, 4),
                                 "accuracy_raw": round(m.accuracy_raw, 4),
                                 "train": m.n_train, "test": m.n_test,
                                 "model": "SVC(rbf, gamma=0.001, C=10)",
                                 "backend": self.node})
        elif len(parts) == 2 and parts[0] == "sample" and parts[1] in set("0123456789"):
            try:
                n = int(parse_qs(url.query).get("n", ["0"])[0])
            except ValueError:
                return self.send_json(400, {"error": "n must be an integer"})
            i, px = self.model.sample(int(parts[1]), n)
            self.send_json(200, {"digit": int(parts[1]), "index": i, "pixels": px,
                                 "size": 8, "max": 16})
        else:
            self.send_json(404, {"error": f"no such path: {url.path}"})

    def do_POST(self):
        if urlsplit(self.path).path != "/predict":
            return self.send_json(404, {"error": "POST /predict only"})
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            return self.send_json(411, {"error": "Content-Length required"})
        if length > MAX_BODY or length < 0:
            self.close_connection = True  # don't read a body we refuse
            return self.send_json(413, {"error": f"body over {MAX_BODY} bytes"})
        body = self.rfile.read(length)
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        try:
            img = decode_png(body) if ctype == "image/png" else pixels_from_json(body)
            digit, proba = self.model.predict(to_features(img))
        except BadInput as e:
            return self.send_json(400, {"error": str(e)})
        except Exception:  # a bug, not the client's fault: say so, keep serving
            log.exception("predict failed")
            return self.send_json(500, {"error": "internal error in the classifier"})
        self.send_json(200, {"digit": digit, "probabilities": proba, "backend": self.node})

    def log_message(self, fmt, *args):
        log.info("%s %s", self.address_string(), fmt % args)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="0.0.0.0")
    ap.add_argument("--port", type=int, default=9090)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    Handler.model = Model()
    Handler.node = os.environ.get("NODE_NAME") or socket.gethostname()
    m = Handler.model
    log.info("model SVC trained on %d load_digits images; held-out accuracy %.4f "
             "(%.4f on the images as shipped) on %d", m.n_train, m.accuracy, m.accuracy_raw, m.n_test)
    srv = ThreadingHTTPServer((args.host, args.port), Handler)
    srv.daemon_threads = True
    log.info("listening on http://%s:%d (backend %s)", args.host, args.port, Handler.node)
    # As PID 1 in a container nothing else ends us: SIGTERM (Kubernetes,
    # podman stop) stops at once instead of waiting for the grace period.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
