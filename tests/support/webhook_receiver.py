#!/usr/bin/env python3
"""A webhook receiver for sessiond's tests: verifies each request's
signature as Standard Webhooks specifies it (HMAC-SHA256 over
"<webhook-id>.<webhook-timestamp>.<body>" with the secret's base64-decoded
bytes after "whsec_"), with Python's own hmac, hashlib and base64, and
records each request as a JSON line.

  webhook_receiver.py --log FILE [--secret-file FILE] [--fail N]
                      [--cert PEM --key PEM]

Listens on 127.0.0.1, port 0, and prints "port <n>". Answers 500 to the
first N requests (N < 0: to every one), else 204. Each line of the log:
{"n", "t" (monotonic seconds), "id", "timestamp", "signatures" (how many),
 "verified" (the indexes of the secrets that one of them verifies with),
 "status" (the answer), "content_type", "body" (parsed JSON, or null)}.
"""
import argparse
import base64
import hashlib
import hmac
import json
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def secret_key(secret):
    assert secret.startswith("whsec_")
    return base64.b64decode(secret[len("whsec_"):])


def expected_signature(key, msg_id, timestamp, body):
    signed = msg_id.encode() + b"." + timestamp.encode() + b"." + body
    return base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def verified_with(keys, msg_id, timestamp, body, header):
    """The indexes of the keys that one of the header's v1 signatures verifies with."""
    given = [s.split(",", 1)[1] for s in header.split(" ") if s.startswith("v1,")]
    out = []
    for i, key in enumerate(keys):
        want = expected_signature(key, msg_id, timestamp, body)
        if any(hmac.compare_digest(want, g) for g in given):
            out.append(i)
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--log", required=True)
    p.add_argument("--secret-file")
    p.add_argument("--fail", type=int, default=0)
    p.add_argument("--cert")
    p.add_argument("--key")
    a = p.parse_args()
    keys = []
    if a.secret_file:
        with open(a.secret_file) as f:
            keys = [secret_key(line.strip()) for line in f if line.strip()]
    lock = threading.Lock()
    count = [0]
    log = open(a.log, "a")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            msg_id = self.headers.get("webhook-id", "")
            timestamp = self.headers.get("webhook-timestamp", "")
            header = self.headers.get("webhook-signature", "")
            with lock:
                n = count[0]
                count[0] += 1
                failing = a.fail < 0 or n < a.fail
                status = 500 if failing else 204
                try:
                    parsed = json.loads(body)
                except ValueError:
                    parsed = None
                record = {
                    "n": n,
                    "t": time.monotonic(),
                    "id": msg_id,
                    "timestamp": timestamp,
                    "signatures": len(header.split(" ")) if header else 0,
                    "verified": verified_with(keys, msg_id, timestamp, body, header),
                    "fresh": timestamp.isdigit() and abs(time.time() - int(timestamp)) < 300,
                    "status": status,
                    "content_type": self.headers.get("Content-Type", ""),
                    "body": parsed,
                }
                log.write(json.dumps(record) + "\n")
                log.flush()
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.send_header("Connection", "close")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if a.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.cert, a.key)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    print("port", server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
