#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# A small WebSocket client (RFC 6455 over a raw socket, standard library only) for the specs and the
# benchmark: the handshake with a random key (checked against Sec-WebSocket-Accept), masked client
# frames, reading server frames (text, ping answered with pong, close). It runs a script of steps
# and prints one JSON object per line for what happened, so a spec can assert on it.
#
#   ws_client.py URL [--protocol P]... [--header "Name: value"]... [--steps STEPS] [--cycles N]
#                [--cafile CA.pem (wss://)]
#
# STEPS, comma-separated: read:N (N text messages), read-until-close (messages until the close frame
# or the end), ping:DATA (expects the pong), send:TEXT, close[:CODE] (sends a close frame, reads until
# the server's close and the end), drop (closes the socket without a close frame), sleep:SECONDS,
# hold (waits until stdin ends, then drops). Events printed: handshake {status, headers,
# subprotocol}, refused {status, headers, body}, text {data}, pong {data}, close {code, reason},
# eof, timeout, error {message}. With --cycles N the script runs N times on fresh connections and
# only a summary {event: "cycles", ok, refused, failed, first_failure} is printed. With --hold N
# SECONDS it opens N connections, reads every frame on all of them for SECONDS (printing
# {event: "holding", open} once all are open), then prints {event: "held", open, frames, closed}.
import argparse
import base64
import hashlib
import json
import os
import select
import socket
import ssl
import struct
import sys
import time
from urllib.parse import urlsplit

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class Refused(Exception):
    pass


class Conn:
    def __init__(self, url, protocols, headers, timeout, cafile=None):
        u = urlsplit(url)
        if u.scheme not in ("ws", "wss"):
            raise ValueError("only ws:// and wss:// URLs")
        self.sock = socket.create_connection((u.hostname, u.port or (443 if u.scheme == "wss" else 80)), timeout=timeout)
        if u.scheme == "wss":
            ctx = ssl.create_default_context(cafile=cafile)
            self.sock = ctx.wrap_socket(self.sock, server_hostname=u.hostname)
        self.buf = b""
        key = base64.b64encode(os.urandom(16)).decode()
        path = (u.path or "/") + ("?" + u.query if u.query else "")
        lines = [f"GET {path} HTTP/1.1", f"Host: {u.hostname}:{u.port}", "Upgrade: websocket",
                 "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
        if protocols:
            lines.append("Sec-WebSocket-Protocol: " + ", ".join(protocols))
        lines += headers
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = self._read_until(b"\r\n\r\n")
        status_line, *rest = head.decode("latin-1").split("\r\n")
        self.status = int(status_line.split()[1])
        self.headers = {}
        for h in rest:
            if ":" in h:
                k, v = h.split(":", 1)
                self.headers[k.strip().lower()] = v.strip()
        if self.status != 101:
            n = int(self.headers.get("content-length", "0"))
            body = self._read_exact(n) if n else b""
            self.sock.close()
            raise Refused(json.dumps({"event": "refused", "status": self.status, "headers": self.headers,
                                      "body": body.decode("utf-8", "replace")}))
        want = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        if self.headers.get("sec-websocket-accept") != want:
            raise ValueError("bad Sec-WebSocket-Accept")

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError
        self.buf += data

    def _read_until(self, sep):
        while sep not in self.buf:
            self._fill()
        i = self.buf.index(sep) + len(sep)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def _read_exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def send(self, opcode, payload=b""):
        mask = os.urandom(4)
        n = len(payload)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + masked)

    def frame(self):
        """The next frame as (opcode, payload); pings are answered and skipped."""
        while True:
            b0, b1 = self._read_exact(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._read_exact(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._read_exact(8))[0]
            mask = self._read_exact(4) if b1 & 0x80 else None
            payload = self._read_exact(n)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            opcode = b0 & 0x0F
            if opcode == 0x9:
                self.send(0xA, payload)
                continue
            return opcode, payload


def close_event(payload):
    code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
    return {"event": "close", "code": code, "reason": payload[2:].decode("utf-8", "replace")}


def run_steps(c, steps, emit):
    for step in steps:
        name, _, arg = step.partition(":")
        if name == "read" or name == "read-until-close":
            count = int(arg) if name == "read" else None
            got = 0
            while count is None or got < count:
                try:
                    op, payload = c.frame()
                except EOFError:
                    emit({"event": "eof"})
                    return
                if op == 0x8:
                    emit(close_event(payload))
                    if count is None:
                        try:
                            c.frame()
                        except EOFError:
                            emit({"event": "eof"})
                        except socket.timeout:
                            pass
                    return
                if op == 0xA:
                    emit({"event": "pong", "data": payload.decode("utf-8", "replace")})
                    continue
                emit({"event": "text" if op == 0x1 else "binary", "data": payload.decode("utf-8", "replace")})
                got += 1
        elif name == "ping":
            c.send(0x9, arg.encode())
            op, payload = c.frame()
            while op == 0x1:  # text frames queued before the pong
                op, payload = c.frame()
            emit({"event": "pong" if op == 0xA else "unexpected", "opcode": op,
                  "data": payload.decode("utf-8", "replace")})
        elif name == "send":
            c.send(0x1, arg.encode())
        elif name == "close":
            code = int(arg) if arg else 1000
            c.send(0x8, struct.pack("!H", code))
            try:
                while True:
                    op, payload = c.frame()
                    if op == 0x8:
                        emit(close_event(payload))
                        break
                c.frame()
            except EOFError:
                emit({"event": "eof"})
            c.sock.close()
            return
        elif name == "drop":
            c.sock.close()
            return
        elif name == "sleep":
            time.sleep(float(arg))
        elif name == "hold":
            sys.stdin.read()
            c.sock.close()
            return
        else:
            raise ValueError("unknown step " + step)
    c.sock.close()


def hold(a, n, seconds, emit):
    conns = [Conn(a.url, a.protocol, a.header, a.timeout, a.cafile) for _ in range(n)]
    emit({"event": "holding", "open": len(conns)})
    frames, closed = 0, 0
    deadline = time.time() + seconds
    live = {c.sock: c for c in conns}
    for c in conns:
        c.sock.setblocking(False)
    while live and time.time() < deadline:
        ready, _, _ = select.select(list(live), [], [], max(0.0, min(1.0, deadline - time.time())))
        for sock in ready:
            c = live[sock]
            try:
                c._fill()
            except (EOFError, OSError):
                closed += 1
                del live[sock]
                continue
            while True:  # whole frames in the buffer
                if len(c.buf) < 2:
                    break
                n2 = c.buf[1] & 0x7F
                head = 2 + (2 if n2 == 126 else 8 if n2 == 127 else 0)
                if len(c.buf) < head:
                    break
                size = n2 if n2 < 126 else int.from_bytes(c.buf[2:head], "big")
                if len(c.buf) < head + size:
                    break
                c.buf = c.buf[head + size:]
                frames += 1
    for c in conns:
        c.sock.close()
    emit({"event": "held", "open": len(conns), "frames": frames, "closed": closed})


def main():
    p = argparse.ArgumentParser()
    p.add_argument("url")
    p.add_argument("--protocol", action="append", default=[])
    p.add_argument("--header", action="append", default=[])
    p.add_argument("--steps", default="")
    p.add_argument("--cycles", type=int, default=0)
    p.add_argument("--timeout", type=float, default=10)
    p.add_argument("--cafile", help="with wss://: the CA that verifies the server")
    p.add_argument("--hold", nargs=2, metavar=("N", "SECONDS"))
    a = p.parse_args()
    steps = [s for s in a.steps.split(",") if s]

    def emit(ev):
        print(json.dumps(ev), flush=True)

    if a.hold:
        hold(a, int(a.hold[0]), float(a.hold[1]), emit)
        return
    if a.cycles:
        ok, refused, failed, first = 0, 0, 0, None
        for _ in range(a.cycles):
            events = []
            try:
                c = Conn(a.url, a.protocol, a.header, a.timeout, a.cafile)
                run_steps(c, steps, events.append)
                ok += 1
            except Refused:
                refused += 1
            except Exception as e:  # noqa: BLE001 - counted and reported
                failed += 1
                first = first or repr(e)
        emit({"event": "cycles", "ok": ok, "refused": refused, "failed": failed, "first_failure": first})
        return
    try:
        c = Conn(a.url, a.protocol, a.header, a.timeout, a.cafile)
    except Refused as r:
        print(str(r), flush=True)
        return
    emit({"event": "handshake", "status": c.status, "headers": c.headers,
          "subprotocol": c.headers.get("sec-websocket-protocol")})
    try:
        run_steps(c, steps, emit)
    except socket.timeout:
        emit({"event": "timeout"})
    except Exception as e:  # noqa: BLE001 - reported to the spec
        emit({"event": "error", "message": repr(e)})


if __name__ == "__main__":
    main()
