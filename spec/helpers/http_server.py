#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Test HTTP/1.1 server for the kip.http specs and core/tests/test_http.c (Python 3 standard
# library only): echo, status codes, chunked streams split mid-line, slow and stalled responses,
# repeated headers, keep-alive with a per-connection id, and TLS with optional client certificates.
# Binds 127.0.0.1 on an ephemeral port, writes the port to --port-file, exits after --lifetime s.
import argparse
import itertools
import json
import os
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

_conn_ids = itertools.count(1)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive unless the client says otherwise

    def setup(self):
        self.conn_id = next(_conn_ids)
        ctx = self.server.ssl_context
        if ctx is not None:
            self.request.settimeout(10)
            self.request = ctx.wrap_socket(self.request, server_side=True, do_handshake_on_connect=False)
            try:
                self.request.do_handshake()
            except (ssl.SSLError, OSError):
                # Linger so the client reads the alert: closing at once, with its request unread,
                # would reset the connection and the client would see a reset, not the alert.
                time.sleep(0.5)
                raise
            self.request.settimeout(None)
        super().setup()

    def log_message(self, format, *args):  # noqa: A002 (BaseHTTPRequestHandler's signature)
        if self.server.verbose:
            super().log_message(format, *args)

    def _query(self):
        q = parse_qs(urlsplit(self.path).query)
        return {k: v[-1] for k, v in q.items()}

    def _num(self, name, default):
        return float(self._query().get(name, default))

    def _send(self, status, body, ctype="text/plain", headers=()):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Conn-Id", str(self.conn_id))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _chunk(self, data):
        data = data.encode() if isinstance(data, str) else data
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _start_chunked(self, ctype="text/plain"):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("X-Conn-Id", str(self.conn_id))
        self.end_headers()
        self.wfile.flush()

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _handle(self):
        path = urlsplit(self.path).path
        body = self._body()
        if path == "/echo":
            peer = self.connection.getpeercert() if self.server.ssl_context else None
            subject = None
            if peer:
                subject = dict(x[0] for x in peer.get("subject", ()))
            info = {
                "method": self.command,
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "header_list": [[k.lower(), v] for k, v in self.headers.items()],
                "body": body.decode("latin-1"),
                "conn": self.conn_id,
                "port": self.client_address[1],
                "client_cn": subject and subject.get("commonName"),
            }
            return self._send(200, json.dumps(info), "application/json")
        if path.startswith("/status/"):
            code = int(path.split("/")[2])
            return self._send(code, "status %d\n" % code)
        if path == "/headers":
            return self._send(200, "ok", headers=[("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"),
                                                  ("X-Multi", "one"), ("X-Multi", "two")])
        if path == "/slow":  # answers after ?delay= seconds
            time.sleep(self._num("delay", 5))
            return self._send(200, "slow\n")
        if path == "/big":  # ?n= bytes of a repeating pattern
            n = int(self._num("n", 1 << 20))
            pattern = b"0123456789abcdef"
            return self._send(200, (pattern * (n // 16 + 1))[:n])
        if path == "/stream":
            # ?n= lines "line I <padding>\n", sent in chunks that cut lines in two, ?delay= s
            # between chunks; ?stall= s before the end (idle timeout tests)
            n, delay = int(self._num("n", 5)), self._num("delay", 0.05)
            self._start_chunked()
            text = "".join("line %d %s\n" % (i, "x" * (i % 7)) for i in range(1, n + 1))
            pos, step = 0, 7
            while pos < len(text):
                self._chunk(text[pos:pos + step])
                pos += step
                step = step % 11 + 5
                time.sleep(delay)
            time.sleep(self._num("stall", 0))
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
            return None
        if path == "/forever":  # one line every ?delay= s until the client goes away
            self._start_chunked()
            i = 0
            while True:
                i += 1
                self._chunk("tick %d\n" % i)
                time.sleep(self._num("delay", 0.05))
        if path == "/stall":  # headers, one chunk, then silence for ?delay= s
            self._start_chunked()
            self._chunk("first\n")
            time.sleep(self._num("delay", 30))
            self.wfile.write(b"0\r\n\r\n")
            return None
        if path == "/close":
            self.close_connection = True
            return self._send(200, "bye\n", headers=[("Connection", "close")])
        return self._send(404, "not found\n")

    def do_GET(self):
        try:
            self._handle()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = do_GET


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        if self.verbose:
            super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--lifetime", type=float, default=120)
    ap.add_argument("--cert", help="server certificate chain (PEM): serve HTTPS")
    ap.add_argument("--key", help="its key (PEM)")
    ap.add_argument("--client-ca", help="require client certificates signed by this CA")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()

    srv = Server(("127.0.0.1", 0), Handler)
    srv.verbose = args.verbose
    srv.ssl_context = None
    if args.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.cert, args.key)
        if args.client_ca:
            ctx.load_verify_locations(args.client_ca)
            ctx.verify_mode = ssl.CERT_REQUIRED
        srv.ssl_context = ctx

    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, args.port_file)  # readers never see a half-written file

    def expire():
        time.sleep(args.lifetime)
        os._exit(0)

    threading.Thread(target=expire, daemon=True).start()
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
