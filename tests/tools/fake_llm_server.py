#!/usr/bin/env python3
"""A small OpenAI-compatible chat server for the `leann ask` tests (Python standard library only).

Speaks GET /v1/models and POST /v1/chat/completions, streaming (server-sent events, in several small chunks, with
keep-alive comments and lines split across writes) or not. Every request is appended to the --record file as one
JSON line {"method", "path", "headers" (lower-case names), "body" (parsed JSON, or the raw text)} BEFORE the reply
is sent, so a client that has its reply can read the record without waiting.

Prints the port it listens on (bound to port 0 on 127.0.0.1) on stdout once ready; exits when stdin closes (so a
test that dies leaves no server behind) or on SIGTERM.

    fake_llm_server.py --record requests.jsonl [--answer TEXT] [--models a,b] [--error-status 401
                       --error-message "bad key"] [--ignore-stream] [--invalid-utf8] [--chunk-chars 3]
                       [--trickle] [--deep-models]
"""

import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--record", required=True, help="append every request here as a JSON line")
    p.add_argument("--answer", default="Foxes are quick [1].", help="the fixed answer text")
    p.add_argument("--models", default="fake-model", help="comma-separated model ids GET /v1/models lists")
    p.add_argument("--error-status", type=int, default=0, help="answer chat completions with this HTTP status")
    p.add_argument("--error-message", default="something went wrong", help="the error's message")
    p.add_argument("--ignore-stream", action="store_true", help="reply with one JSON object even to stream: true")
    p.add_argument("--invalid-utf8", action="store_true", help="put raw bytes that are not UTF-8 in the answer")
    p.add_argument("--chunk-chars", type=int, default=3, help="answer characters per streamed delta")
    p.add_argument("--trickle", action="store_true",
                   help="stream one short delta every 0.2 s and never finish (a server that never times out)")
    p.add_argument("--deep-models", action="store_true", help="GET /v1/models answers JSON nested 100,000 deep")
    return p.parse_args()


ARGS = parse_args()
RECORD_LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # chunked transfer for streams, as real servers do

    def log_message(self, fmt, *args):  # quiet: the test reads stdout for the port only
        pass

    def record(self, body_text):
        try:
            body = json.loads(body_text) if body_text else None
        except ValueError:
            body = body_text
        row = {"method": self.command, "path": self.path,
               "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
        with RECORD_LOCK, open(ARGS.record, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")
            f.flush()

    def send_json(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.record("")
        if self.path.rstrip("/") == "/v1/models" and ARGS.deep_models:
            data = b'{"data": ' + b"[" * 100000 + b"]" * 100000 + b"}"
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        elif self.path.rstrip("/") == "/v1/models":
            models = [m for m in ARGS.models.split(",") if m]
            self.send_json(200, {"object": "list",
                                 "data": [{"id": m, "object": "model", "owned_by": "fake"} for m in models]})
        else:
            self.send_json(404, {"error": {"message": "no route " + self.path, "type": "not_found"}})

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body_text = self.rfile.read(length).decode("utf-8", "replace")
        self.record(body_text)
        if self.path != "/v1/chat/completions":
            self.send_json(404, {"error": {"message": "no route " + self.path, "type": "not_found"}})
            return
        if ARGS.error_status:
            self.send_json(ARGS.error_status, {"error": {"message": ARGS.error_message, "type": "test_error"}})
            return
        try:
            request = json.loads(body_text)
        except ValueError:
            self.send_json(400, {"error": {"message": "body is not JSON"}})
            return
        model = request.get("model", "")
        if request.get("stream") and not ARGS.ignore_stream:
            self.stream(model)
        else:
            self.whole(model)

    def answer_pieces(self):
        """The answer as byte strings, one per delta."""
        text = ARGS.answer
        n = max(1, ARGS.chunk_chars)
        pieces = [text[i:i + n].encode() for i in range(0, len(text), n)]
        if ARGS.invalid_utf8:
            pieces.insert(1, b"\xff\xfe bad bytes \xc3")
        return pieces

    def whole(self, model):
        content = b"".join(self.answer_pieces())
        head = json.dumps({"id": "chatcmpl-fake", "object": "chat.completion", "model": model,
                           "choices": [{"index": 0, "message": {"role": "assistant", "content": "@@"},
                                        "finish_reason": "stop"}]}).encode()
        # Raw answer bytes go in place of the placeholder, so --invalid-utf8 really sends bytes that are not UTF-8.
        data = head.replace(b"@@", content.replace(b"\\", b"\\\\").replace(b'"', b'\\"'))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def event(self, model, delta, finish=None):
        obj = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "model": model,
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return b"data: " + json.dumps(obj).encode() + b"\n\n"

    def stream(self, model):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        events = [b": keep-alive\n\n", self.event(model, {"role": "assistant", "content": ""})]
        if ARGS.trickle:
            try:
                while True:  # until the client hangs up
                    self.chunk(self.event(model, {"content": "."}))
                    time.sleep(0.2)
            except OSError:
                return
        for piece in self.answer_pieces():
            event = self.event(model, {"content": "@@"})
            events.append(event.replace(b"@@", piece.replace(b"\\", b"\\\\").replace(b'"', b'\\"')))
            events.append(b": ping\n\n")
        events.append(self.event(model, {}, "stop"))
        events.append(b"data: [DONE]\n\n")
        # Each event goes out in two writes split mid-line, so the client must join lines across reads.
        for e in events:
            half = len(e) // 2
            self.chunk(e[:half])
            self.chunk(e[half:])
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(server.server_address[1], flush=True)
    # Serve until the parent closes our stdin (or kills us).
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    main()
