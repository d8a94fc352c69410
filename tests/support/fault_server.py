"""A deliberately faulty MCP stdio server, for fault-injection tests only.

No real server can be made to emit broken output on demand, so this one does, on request:
tools/call of `garbage` prints a non-JSON line before a valid result; `bad-utf8` answers with a
line that is not valid UTF-8; `no-answer` never answers; `die-mid-response` writes half a
response and kills itself (SIGKILL); `flood` writes `count` lines of `kind` (`garbage`: not
JSON, `notification`: valid log notifications) before its result; `big` answers with a text of
`bytes` bytes; `echo` answers with its arguments; `torn-escape` writes a line that ends inside a
string right after a backslash, then its result. `cancelled` lists the request ids whose
`notifications/cancelled` arrived. Everything else gets a plain result. A JSON-RPC batch is
answered with one batch (an empty result for each request in it), in Python's own spacing,
which no re-serialisation on the way keeps.
"""

import json
import os
import signal
import sys

out = sys.stdout.buffer


def send(obj):
    out.write(json.dumps(obj).encode() + b"\n")
    out.flush()


cancelled = []

for raw in sys.stdin.buffer:
    msg = json.loads(raw)
    if isinstance(msg, list):
        answers = [{"jsonrpc": "2.0", "id": m["id"], "result": {}}
                   for m in msg if isinstance(m, dict) and "id" in m and "method" in m]
        if answers:
            send(answers)
        continue
    if msg.get("method") == "notifications/cancelled":
        cancelled.append(msg.get("params", {}).get("requestId"))
        continue
    if "id" not in msg or "method" not in msg:
        continue
    mid, method = msg["id"], msg["method"]
    if method == "initialize":
        send({"jsonrpc": "2.0", "id": mid, "result": {
            "protocolVersion": "2025-11-25", "capabilities": {"tools": {}},
            "serverInfo": {"name": "fault-server", "version": "1"}}})
        continue
    tool = msg.get("params", {}).get("name")
    args = msg.get("params", {}).get("arguments") or {}
    if tool == "garbage":
        out.write(b"Server listening... (a log line on stdout)\n")
        send({"jsonrpc": "2.0", "id": mid, "result": {"content": [{"type": "text", "text": "after garbage"}]}})
    elif tool == "bad-utf8":
        out.write(b'{"jsonrpc":"2.0","id":%s,"result":{"content":[{"type":"text","text":"\xff\xfe"}]}}\n'
                  % json.dumps(mid).encode())
        out.flush()
    elif tool == "no-answer":
        pass
    elif tool == "die-mid-response":
        line = json.dumps({"jsonrpc": "2.0", "id": mid, "result": {"content": [{"type": "text", "text": "x" * 1000}]}})
        out.write(line[: len(line) // 2].encode())
        out.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    elif tool == "flood":
        count, kind = int(args.get("count", 1000)), args.get("kind", "garbage")
        if kind == "garbage":
            chunk = b"".join(b"garbage line %d that is not JSON\n" % i for i in range(count))
        else:
            chunk = b"".join(json.dumps({"jsonrpc": "2.0", "method": "notifications/message",
                                         "params": {"level": "info", "data": "line %d" % i}}).encode() + b"\n"
                             for i in range(count))
        out.write(chunk)
        send({"jsonrpc": "2.0", "id": mid, "result": {"content": [{"type": "text", "text": "flooded %d" % count}]}})
    elif tool == "torn-escape":
        out.write(b'{"jsonrpc":"2.0","id":%s,"result":"\\\n' % json.dumps(mid).encode())
        send({"jsonrpc": "2.0", "id": mid, "result": {"content": [{"type": "text", "text": "after the torn line"}]}})
    elif tool == "big":
        send({"jsonrpc": "2.0", "id": mid, "result": {"content": [{"type": "text", "text": "b" * int(args.get("bytes", 0))}]}})
    elif tool == "echo":
        send({"jsonrpc": "2.0", "id": mid, "result": {"content": [{"type": "text", "text": json.dumps(args)}]}})
    elif tool == "cancelled":
        send({"jsonrpc": "2.0", "id": mid, "result": {"content": [{"type": "text", "text": json.dumps(cancelled)}]}})
    else:
        send({"jsonrpc": "2.0", "id": mid, "result": {"content": [{"type": "text", "text": "ok"}]}})
