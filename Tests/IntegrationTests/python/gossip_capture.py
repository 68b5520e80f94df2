"""Captures gossip traffic on the loopback interface and reports what an
eavesdropper would see.

Usage: python3 gossip_capture.py SECONDS READY_FILE PREFIX PORT WORD...
Listens on `lo` with a raw AF_PACKET socket (root) for SECONDS, keeping
IPv4 UDP and TCP packets between addresses starting with PREFIX (for
example "127.0.121.") to or from PORT. Touches READY_FILE once listening.
Prints one JSON object: how many UDP datagrams were seen, how many began
with the sealed version byte (2), how many TCP payload bytes, and which
WORDs appeared anywhere in the payloads.
"""
import json
import socket
import struct
import sys
import time


def main() -> int:
    seconds, ready, prefix, port = float(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
    words = [w.encode() for w in sys.argv[5:]]
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(0x0003))
    s.bind(("lo", 0))
    s.settimeout(0.2)
    open(ready, "w").close()
    udp = sealed = tcp_bytes = 0
    found = set()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            frame, meta = s.recvfrom(70000)
        except socket.timeout:
            continue
        if meta[2] == socket.PACKET_OUTGOING:
            continue  # loopback shows each packet twice
        if len(frame) < 34 or frame[12:14] != b"\x08\x00":
            continue
        ip = frame[14:]
        ihl = (ip[0] & 15) * 4
        proto = ip[9]
        src, dst = socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
        if not (src.startswith(prefix) or dst.startswith(prefix)):
            continue
        body = ip[ihl:]
        if proto == 17 and len(body) >= 8:
            sport, dport = struct.unpack("!HH", body[:4])
            if port not in (sport, dport):
                continue
            payload = body[8:]
            udp += 1
            if payload[:1] == b"\x02":
                sealed += 1
        elif proto == 6 and len(body) >= 20:
            sport, dport = struct.unpack("!HH", body[:4])
            if port not in (sport, dport):
                continue
            payload = body[(body[12] >> 4) * 4:]
            tcp_bytes += len(payload)
        else:
            continue
        for w in words:
            if w in payload:
                found.add(w.decode())
    print(json.dumps({"udp": udp, "udp_sealed": sealed, "tcp_bytes": tcp_bytes, "found": sorted(found)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
