#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# The idle-connection client of the gateway benchmark (bench/gateway.lua): opens N connections to a
# proxy on loopback, sends one request on each and reads the whole answer, so the proxy holds every
# connection in keep-alive state; then reports and holds them until it is signalled (SIGTERM).
# Connections come from several loopback source addresses (127.0.0.2, .3, ...) so that the source
# ports do not run short. Uses only the standard library (socket, ssl, selectors, resource).
#
#   gateway_idle.py PORT N HOST [--tls] [--check-file PATH]
#
# Prints "open N" once all are open, then, each time PATH appears (the harness creates it after
# reading the proxy's memory), "alive K" with K the connections the proxy has not closed, and
# removes PATH. Exits 1 when a connection fails or an answer is not a 200.
import os
import resource
import selectors
import signal
import socket
import ssl
import sys
import time

PER_SOURCE = 2500   # connections per loopback source address
IN_FLIGHT = 200     # connections being set up at once


def main():
    args = sys.argv[1:]
    tls = "--tls" in args
    check_file = None
    if "--check-file" in args:
        check_file = args[args.index("--check-file") + 1]
        args = [a for a in args if a not in ("--check-file", check_file)]
    args = [a for a in args if a != "--tls"]
    port, n, host = int(args[0]), int(args[1]), args[2]
    want = n + 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < want:
        if hard != resource.RLIM_INFINITY and hard < want:
            hard = want   # raising the hard limit needs root (CAP_SYS_RESOURCE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    ctx = None
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.set_alpn_protocols(["http/1.1"])
    request = ("GET / HTTP/1.1\r\nHost: %s\r\nUser-Agent: kip-bench-idle\r\n\r\n" % host).encode()

    sel = selectors.DefaultSelector()
    conns = []            # every connection once its answer is read
    pending = 0
    started = 0

    def start_one(i):
        src = "127.0.0.%d" % (2 + i // PER_SOURCE)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((src, 0))
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        st = {"sock": s, "phase": "connect", "buf": b"", "out": request}
        sel.register(s, selectors.EVENT_WRITE, st)

    def answered(buf):
        head, sep, body = buf.partition(b"\r\n\r\n")
        if not sep:
            return False
        status = head.split(b"\r\n", 1)[0]
        if b" 200 " not in status + b" ":
            raise SystemExit("idle client: answer %r" % status)
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
            if name.strip().lower() == b"transfer-encoding":
                raise SystemExit("idle client: chunked answers are not expected")
        return len(body) >= length

    deadline = time.monotonic() + 300
    while len(conns) < n:
        while started < n and pending < IN_FLIGHT:
            start_one(started)
            started += 1
            pending += 1
        if time.monotonic() > deadline:
            raise SystemExit("idle client: %d of %d connections after 300 s" % (len(conns), n))
        for key, _ in sel.select(timeout=5):
            st = key.data
            s = st["sock"]
            try:
                if st["phase"] == "connect":
                    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        raise OSError(err, os.strerror(err))
                    if ctx:
                        s = ctx.wrap_socket(s, server_hostname=host, do_handshake_on_connect=False)
                        sel.unregister(st["sock"])
                        st["sock"] = s
                        sel.register(s, selectors.EVENT_WRITE, st)
                        st["phase"] = "handshake"
                    else:
                        st["phase"] = "send"
                if st["phase"] == "handshake":
                    try:
                        s.do_handshake()
                        st["phase"] = "send"
                    except ssl.SSLWantReadError:
                        sel.modify(s, selectors.EVENT_READ, st)
                        continue
                    except ssl.SSLWantWriteError:
                        sel.modify(s, selectors.EVENT_WRITE, st)
                        continue
                if st["phase"] == "send":
                    try:
                        sent = s.send(st["out"])
                    except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
                        continue
                    st["out"] = st["out"][sent:]
                    if not st["out"]:
                        st["phase"] = "read"
                        sel.modify(s, selectors.EVENT_READ, st)
                    continue
                if st["phase"] == "read":
                    try:
                        data = s.recv(65536)
                    except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                        continue
                    if not data:
                        raise OSError("closed before the answer")
                    st["buf"] += data
                    if answered(st["buf"]):
                        sel.unregister(s)
                        conns.append(s)
                        pending -= 1
            except OSError as e:
                raise SystemExit("idle client: connection %d: %s" % (len(conns), e))
    print("open %d" % len(conns), flush=True)

    running = [True]
    signal.signal(signal.SIGTERM, lambda *_: running.__setitem__(0, False))
    while running[0]:
        if check_file and os.path.exists(check_file):
            alive = 0
            probe = selectors.DefaultSelector()
            for s in conns:
                probe.register(s, selectors.EVENT_READ)
            closed = {key.fileobj for key, _ in probe.select(timeout=0)}
            probe.close()
            for s in conns:
                if s not in closed:
                    alive += 1
            os.remove(check_file)
            print("alive %d" % alive, flush=True)
        time.sleep(0.05)
    for s in conns:
        s.close()


if __name__ == "__main__":
    main()
