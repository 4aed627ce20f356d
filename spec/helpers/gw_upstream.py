#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Upstream for the gateway proxy specs (Python 3 standard library, raw sockets so every byte is
# under control): HTTP/1.1 keep-alive, one thread per connection. Paths:
#   /echo            JSON {method, target, version, headers: [[name, value]...], body_len, body_sha256, conn}
#                    (body_* over the raw body bytes as received, chunk framing included)
#   /stats           JSON {connections, requests} seen so far (not counted itself)
#   /slow?s=N        answers after N seconds
#   /chunked?n=N     N bytes (b"0123456789" repeated) in chunks of 7919 bytes, sha256 in a trailer-free body
#   /close?n=N       N bytes without Content-Length, then closes (body until close)
#   /drop?s=N        a keep-alive answer, then closes the connection N seconds later (default 0.2),
#                    as an upstream's idle timeout does to a pooled connection
#   /continue        sends "100 Continue" first, then reads the body and echoes like /echo
#   /ws              WebSocket handshake (101), then echoes every frame's payload unmasked
# With --tls-cert/--tls-key it speaks TLS (the SNI each connection sent is in /echo as "sni").
# Binds 127.0.0.1:0 (or --host), writes the port to --port-file, exits after --lifetime seconds.
import argparse
import base64
import hashlib
import json
import socket
import ssl
import struct
import sys
import threading
import time
from urllib.parse import parse_qs, urlsplit

LOCK = threading.Lock()
COUNTS = {"connections": 0, "requests": 0}


def bump(name):
    with LOCK:
        COUNTS[name] += 1
        return COUNTS[name]


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.sni = None

    def fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError
        self.buf += data

    def read_until(self, sep):
        while sep not in self.buf:
            self.fill()
        i = self.buf.index(sep) + len(sep)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def read_n(self, n):
        while len(self.buf) < n:
            self.fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_chunked_raw(self):
        raw = b""
        while True:
            line = self.read_until(b"\r\n")
            raw += line
            size = int(line.split(b";")[0].strip(), 16)
            if size == 0:
                while True:
                    t = self.read_until(b"\r\n")
                    raw += t
                    if t == b"\r\n":
                        return raw
            raw += self.read_n(size + 2)


def send_json(c, obj, extra=b""):
    body = json.dumps(obj).encode()
    c.sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n" %
                   (len(body), extra) + body)


def ws_echo(c):
    while True:
        hdr = c.read_n(2)
        op, ln = hdr[0] & 0x0F, hdr[1] & 0x7F
        if ln == 126:
            ln = struct.unpack("!H", c.read_n(2))[0]
        elif ln == 127:
            ln = struct.unpack("!Q", c.read_n(8))[0]
        mask = c.read_n(4) if hdr[1] & 0x80 else b"\0\0\0\0"
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(c.read_n(ln)))
        if op == 8:
            c.sock.sendall(b"\x88\x00")
            return
        if ln < 126:
            out = bytes([0x80 | op, ln])
        elif ln < 65536:
            out = bytes([0x80 | op, 126]) + struct.pack("!H", ln)
        else:
            out = bytes([0x80 | op, 127]) + struct.pack("!Q", ln)
        c.sock.sendall(out + payload)


def serve(sock, conn_id, ctx):
    c = Conn(sock)
    try:
        if ctx is not None:
            sock.settimeout(10)
            sock = ctx.wrap_socket(sock, server_side=True)
            sock.settimeout(None)
            c.sock = sock
            c.sni = getattr(sock, "sni_name", None)
        while True:
            head = c.read_until(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, version = lines[0].split(" ", 2)
            headers = []
            for line in lines[1:]:
                if line:
                    k, v = line.split(":", 1)
                    headers.append([k, v.strip()])
            hmap = {k.lower(): v for k, v in headers}
            path = urlsplit(target).path
            query = {k: v[-1] for k, v in parse_qs(urlsplit(target).query).items()}
            if path != "/stats":
                bump("requests")
            if path == "/continue":
                c.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            body = b""
            if hmap.get("transfer-encoding", "").lower() == "chunked":
                body = c.read_chunked_raw()
            elif "content-length" in hmap:
                body = c.read_n(int(hmap["content-length"]))
            if path in ("/echo", "/continue"):
                send_json(c, {"method": method, "target": target, "version": version, "headers": headers,
                              "body_len": len(body), "body_sha256": hashlib.sha256(body).hexdigest(),
                              "conn": conn_id, "sni": c.sni})
            elif path == "/stats":
                with LOCK:
                    send_json(c, dict(COUNTS))
            elif path == "/slow":
                time.sleep(float(query.get("s", "1")))
                send_json(c, {"slept": float(query.get("s", "1")), "conn": conn_id})
            elif path == "/chunked":
                n = int(query.get("n", "100000"))
                data = (b"0123456789" * (n // 10 + 1))[:n]
                c.sock.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Sha256: %s\r\n\r\n" %
                               hashlib.sha256(data).hexdigest().encode())
                for i in range(0, n, 7919):
                    part = data[i:i + 7919]
                    c.sock.sendall(b"%x\r\n%s\r\n" % (len(part), part))
                c.sock.sendall(b"0\r\n\r\n")
            elif path == "/drop":
                send_json(c, {"dropping_in": float(query.get("s", "0.2")), "conn": conn_id})
                time.sleep(float(query.get("s", "0.2")))
                return
            elif path == "/close":
                n = int(query.get("n", "1000"))
                c.sock.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + b"x" * n)
                return
            elif path == "/ws":
                key = hmap.get("sec-websocket-key", "")
                accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
                c.sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                               b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
                ws_echo(c)
                return
            else:
                c.sock.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            if hmap.get("connection", "").lower() == "close":
                return
    except (EOFError, ConnectionError, ValueError, OSError):
        pass
    finally:
        try:
            sock.close()
        except OSError:
            pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--lifetime", type=float, default=300)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    args = ap.parse_args()
    ctx = None
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)

        def on_sni(sslobj, name, _ctx):
            sslobj.sni_name = name
        ctx.sni_callback = on_sni
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((args.host, args.port))
    ls.listen(256)
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(ls.getsockname()[1]))
    import os
    os.rename(args.port_file + ".tmp", args.port_file)
    threading.Timer(args.lifetime, lambda: os._exit(0)).start()
    while True:
        s, _ = ls.accept()
        cid = bump("connections")
        threading.Thread(target=serve, args=(s, cid, ctx), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
