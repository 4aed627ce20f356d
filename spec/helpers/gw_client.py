#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Raw clients for the gateway proxy specs (Python 3 standard library):
#   raw PORT [--timeout S] [--pause S] [--wait-file F] [--tls SNI]
#                                        sends stdin's bytes as they are (a "\n--PAUSE--\n" line in
#                                        them waits --pause seconds there, or with --wait-file until
#                                        file F exists, 30 s at most), then prints everything
#                                        received until the server closes or S seconds pass; with
#                                        --tls, over TLS (no verification) with that SNI
#   ws PORT HOST                         WebSocket handshake through the gateway, three masked frames
#                                        (small, 200 bytes, 70000 bytes); prints JSON {status, echoed}
#   upload PORT HOST PATH N              POSTs N bytes chunked in irregular pieces; prints the response
#                                        body and the sha256 of the raw chunked bytes it sent
import base64
import hashlib
import json
import os
import socket
import ssl
import struct
import sys
import time


def connect(port):
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def read_all(s, timeout):
    s.settimeout(timeout)
    out = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
    except (socket.timeout, ConnectionResetError, ssl.SSLError):
        pass
    return out


def cmd_raw(args):
    port = int(args[0])
    timeout, pause = 5.0, 1.0
    if "--timeout" in args:
        timeout = float(args[args.index("--timeout") + 1])
    if "--pause" in args:
        pause = float(args[args.index("--pause") + 1])
    data = sys.stdin.buffer.read()
    s = connect(port)
    if "--tls" in args:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        s = ctx.wrap_socket(s, server_hostname=args[args.index("--tls") + 1])
    wait_file = args[args.index("--wait-file") + 1] if "--wait-file" in args else None
    parts = data.split(b"\n--PAUSE--\n")
    for i, p in enumerate(parts):
        if i and wait_file:
            deadline = time.monotonic() + 30
            while not os.path.exists(wait_file) and time.monotonic() < deadline:
                time.sleep(0.02)
        elif i:
            time.sleep(pause)
        try:
            s.sendall(p)
        except OSError:
            break
    sys.stdout.buffer.write(read_all(s, timeout))


def ws_frame(payload, op=1):
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        hdr = bytes([0x80 | op, 0x80 | n])
    elif n < 65536:
        hdr = bytes([0x80 | op, 0x80 | 126]) + struct.pack("!H", n)
    else:
        hdr = bytes([0x80 | op, 0x80 | 127]) + struct.pack("!Q", n)
    return hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def recv_n(s, buf, n):
    while len(buf) < n:
        d = s.recv(65536)
        if not d:
            raise EOFError
        buf += d
    return buf[:n], buf[n:]


def cmd_ws(args):
    port, host = int(args[0]), args[1]
    s = connect(port)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET /ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (host, key)).encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            break
        buf += d
    head, _, buf = buf.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1]) if head else 0
    want = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
    echoed = []
    if status == 101:
        for payload in (b"hello", b"x" * 200, os.urandom(70000)):
            s.sendall(ws_frame(payload, 2))
            hdr, buf = recv_n(s, buf, 2)
            n = hdr[1] & 0x7F
            if n == 126:
                ext, buf = recv_n(s, buf, 2)
                n = struct.unpack("!H", ext)[0]
            elif n == 127:
                ext, buf = recv_n(s, buf, 8)
                n = struct.unpack("!Q", ext)[0]
            got, buf = recv_n(s, buf, n)
            echoed.append(got == payload)
        s.sendall(ws_frame(b"", 8))
    print(json.dumps({"status": status, "accept_ok": want in head, "echoed": echoed,
                      "head": head.decode("latin-1")}))


def cmd_upload(args):
    port, host, path, n = int(args[0]), args[1], args[2], int(args[3])
    data = os.urandom(n)
    raw = b""
    i, step = 0, 1
    while i < n:
        part = data[i:i + step]
        raw += b"%x\r\n%s\r\n" % (len(part), part)
        i += len(part)
        step = step * 3 + 1 if step < 40000 else 1
    raw += b"0\r\n\r\n"
    s = connect(port)
    s.sendall(("POST %s HTTP/1.1\r\nHost: %s\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
               % (path, host)).encode())
    for j in range(0, len(raw), 50000):
        s.sendall(raw[j:j + 50000])
    resp = read_all(s, 10)
    head, _, body = resp.partition(b"\r\n\r\n")
    print(json.dumps({"head": head.decode("latin-1"), "body": body.decode("latin-1"),
                      "sent_len": len(raw), "sent_sha256": hashlib.sha256(raw).hexdigest()}))


if __name__ == "__main__":
    {"raw": cmd_raw, "ws": cmd_ws, "upload": cmd_upload}[sys.argv[1]](sys.argv[2:])
