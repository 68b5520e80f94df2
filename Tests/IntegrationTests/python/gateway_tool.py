# Helper for GatewayTests (Tests/IntegrationTests/GatewayTests.swift), run as it is from the checkout.
# Run inside a lab namespace with `ip netns exec NS python3 gateway_tool.py ...`.
#   backend IP PORT NAME      a service instance: answers naming itself
#   ask HOST PORT N           N connections one after another: GET /, one line each
#   bulk HOST PORT MIB        MIB MiB up (then SHUT_WR), MIB MiB down; both hashed
#   many HOST PORT N PIDS     N connections open at once (HOLD), stats of PIDS at the peak
#   raw HOST PORT DC HOPS SERVICE [TRAILER]   one raw tunnel request on the RPC port
import asyncio, hashlib, json, os, socket, ssl, struct, sys, time

MIB = 1 << 20


def chunk(tag, i):
    return hashlib.shake_128(b"%s-%d" % (tag, i)).digest(MIB)


def out(obj):
    sys.stdout.write(json.dumps(obj, sort_keys=True) + "\n")
    sys.stdout.flush()


# ---------------------------------------------------------------- backend

def backend(ip, port, name):
    async def handle(reader, writer):
        peer = (writer.get_extra_info("peername") or ("?",))[0]
        what = "?"
        try:
            line = await reader.readline()
            what = line[:40].decode("latin-1").strip()
            print("connection from %s: %s" % (peer, what), flush=True)
            if line.startswith(b"GET "):
                while True:
                    header = await reader.readline()
                    if header in (b"\r\n", b"\n", b""):
                        break
                body = ("instance=%s peer=%s\n" % (name, peer)).encode()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                             b"Connection: close\r\n\r\n" % len(body) + body)
            elif line.startswith(b"HOLD"):
                writer.write(("ready instance=%s\n" % name).encode())
                await writer.drain()
                go = await reader.readline()
                writer.write(("instance=%s peer=%s got=%s\n" % (name, peer, go.decode("latin-1").strip())).encode())
            elif line.startswith(b"BULK "):
                mib = int(line.split()[1])
                digest, count = hashlib.sha256(), 0
                while True:
                    data = await reader.read(MIB)
                    if not data:
                        break
                    digest.update(data)
                    count += len(data)
                print("bulk from %s: received %d bytes, sha256 %s; sending %d MiB" % (peer, count, digest.hexdigest(), mib), flush=True)
                writer.write(("UP %d %s instance=%s\n" % (count, digest.hexdigest(), name)).encode())
                for i in range(mib):
                    writer.write(chunk(b"down", i))
                    await writer.drain()
            else:
                writer.write(("unknown request instance=%s\n" % name).encode())
            await writer.drain()
        except Exception as e:
            print("error on the connection from %s (%s): %r" % (peer, what, e), flush=True)
        finally:
            writer.close()

    async def main():
        server = await asyncio.start_server(handle, ip, port, backlog=1024, reuse_address=True)
        print("listening on %s:%d as %s" % (ip, port, name), flush=True)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


# ---------------------------------------------------------------- clients

def ask(host, port, n):
    for i in range(n):
        try:
            with socket.create_connection((host, port), timeout=10) as s:
                s.settimeout(10)
                s.sendall(b"GET / HTTP/1.1\r\nHost: backend\r\nConnection: close\r\n\r\n")
                data = b""
                while True:
                    part = s.recv(65536)
                    if not part:
                        break
                    data += part
            body = data.split(b"\r\n\r\n", 1)[-1].decode("latin-1").strip()
            out({"i": i, "ok": data.startswith(b"HTTP/1.1 200"), "answer": body})
        except Exception as e:
            out({"i": i, "ok": False, "error": repr(e)})


def bulk(host, port, mib):
    sent = hashlib.sha256()
    expected = hashlib.sha256()
    for i in range(mib):
        expected.update(chunk(b"down", i))
    result = {"mib": mib}
    try:
        s = socket.create_connection((host, port), timeout=30)
        s.settimeout(60)
        s.sendall(b"BULK %d\n" % mib)
        for i in range(mib):
            data = chunk(b"up", i)
            sent.update(data)
            s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        result["sent"] = mib * MIB
        result["sentSHA256"] = sent.hexdigest()
        header = b""
        while not header.endswith(b"\n"):
            part = s.recv(1)
            if not part:
                break
            header += part
        result["header"] = header.decode("latin-1").strip()
        got, count = hashlib.sha256(), 0
        while True:
            part = s.recv(MIB)
            if not part:
                break
            got.update(part)
            count += len(part)
        s.close()
        result["received"] = count
        result["receivedSHA256"] = got.hexdigest()
        result["expectedSHA256"] = expected.hexdigest()
    except Exception as e:
        result["error"] = repr(e)
    out(result)


def proc_stats(pid):
    stats = {"pid": pid}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    stats["rssKiB"] = int(line.split()[1])
        stats["fds"] = len(os.listdir("/proc/%d/fd" % pid))
        established = 0
        with open("/proc/%d/net/tcp" % pid) as f:  # that process's network namespace
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[3] == "01" and int(fields[1].split(":")[1], 16) == 8300:
                    established += 1
        stats["rpcEstablished"] = established
    except Exception as e:
        stats["error"] = repr(e)
    return stats


def many(host, port, n, pids):
    async def one(i, opened, release):
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 60)
        try:
            writer.write(b"HOLD %d\n" % i)
            await writer.drain()
            ready = await asyncio.wait_for(reader.readline(), 60)
            opened.append(ready)
            await release.wait()
            writer.write(b"go-%d\n" % i)
            await writer.drain()
            return (await asyncio.wait_for(reader.read(), 60)).decode("latin-1").strip()
        finally:
            writer.close()

    async def main():
        opened, release = [], asyncio.Event()
        tasks = [asyncio.create_task(one(i, opened, release)) for i in range(n)]
        deadline = time.monotonic() + 90
        while len(opened) < n and time.monotonic() < deadline and not all(t.done() for t in tasks):
            await asyncio.sleep(0.1)
        peak = [proc_stats(p) for p in pids]
        all_open = len(opened)
        release.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        answers = [r for r in results if isinstance(r, str)]
        errors = [repr(r) for r in results if not isinstance(r, str)]
        out({"n": n, "openAtOnce": all_open, "peak": peak, "answers": answers, "errors": errors[:20],
             "errorCount": len(errors)})

    asyncio.run(main())


def raw(host, port, dc, hops, service, trailer, ca, cert, key):
    def s16(text):
        data = text.encode()
        return struct.pack(">H", len(data)) + data

    ident = 0x0123456789ABCDEF
    body = struct.pack(">BBQ", 1, 4, ident) + s16(dc) + struct.pack(">B", hops) + s16(service) + trailer.encode()
    result = {"service": service, "trailer": trailer}
    try:
        # The server port is mutual TLS: present the agent's certificate.
        context = ssl.create_default_context(cafile=ca)
        context.check_hostname = False
        context.load_cert_chain(cert, key)
        s = context.wrap_socket(socket.create_connection((host, port), timeout=10))
        s.settimeout(10)
        s.sendall(struct.pack(">I", len(body)) + body)

        def receive(count):
            try:
                return s.recv(count)
            except (ssl.SSLEOFError, ConnectionResetError):
                return b""

        def exactly(count):
            data = b""
            while len(data) < count:
                part = receive(count - len(data))
                if not part:
                    raise EOFError("closed after %d of %d bytes" % (len(data), count))
                data += part
            return data

        (length,) = struct.unpack(">I", exactly(4))
        answer = exactly(length)
        version, kind, answer_id = struct.unpack(">BBQ", answer[:10])
        result.update({"version": version, "kind": kind, "idEchoed": answer_id == ident})
        if kind == 19:
            code = answer[10]
            (mlen,) = struct.unpack(">H", answer[11:13])
            result.update({"code": code, "message": answer[13:13 + mlen].decode("utf-8", "replace")})
            try:
                extra = receive(4096)
                result["closed"] = extra == b""
                if extra:
                    result["extra"] = extra.decode("latin-1")
            except socket.timeout:
                result["closed"] = False
        elif kind == 20:
            s.sendall(b"GET / HTTP/1.1\r\nHost: backend\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                part = receive(65536)
                if not part:
                    break
                data += part
            result["answer"] = data.split(b"\r\n\r\n", 1)[-1].decode("latin-1").strip()
        s.close()
    except Exception as e:
        result["error"] = repr(e)
    out(result)


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    if command == "backend":
        backend(args[0], int(args[1]), args[2])
    elif command == "ask":
        ask(args[0], int(args[1]), int(args[2]))
    elif command == "bulk":
        bulk(args[0], int(args[1]), int(args[2]))
    elif command == "many":
        many(args[0], int(args[1]), int(args[2]), [int(p) for p in args[3].split(",") if p])
    elif command == "raw":
        raw(args[0], int(args[1]), args[2], int(args[3]), args[4], args[8] if len(args) > 8 else "", args[5], args[6], args[7])
    else:
        sys.exit("unknown command " + command)
