"""A deliberately faulty MCP stdio server, for fault-injection tests only.

No real server can be made to emit broken output on demand, so this one does, on request:
tools/call of `garbage` prints a non-JSON line before a valid result; `bad-utf8` answers with a
line that is not valid UTF-8; `no-answer` never answers. Everything else gets a plain result.
"""

import json
import sys

out = sys.stdout.buffer


def send(obj):
    out.write(json.dumps(obj).encode() + b"\n")
    out.flush()


for raw in sys.stdin.buffer:
    msg = json.loads(raw)
    if "id" not in msg or "method" not in msg:
        continue
    mid, method = msg["id"], msg["method"]
    if method == "initialize":
        send({"jsonrpc": "2.0", "id": mid, "result": {
            "protocolVersion": "2025-11-25", "capabilities": {"tools": {}},
            "serverInfo": {"name": "fault-server", "version": "1"}}})
        continue
    tool = msg.get("params", {}).get("name")
    if tool == "garbage":
        out.write(b"Server listening... (a log line on stdout)\n")
        send({"jsonrpc": "2.0", "id": mid, "result": {"content": [{"type": "text", "text": "after garbage"}]}})
    elif tool == "bad-utf8":
        out.write(b'{"jsonrpc":"2.0","id":%s,"result":{"content":[{"type":"text","text":"\xff\xfe"}]}}\n'
                  % json.dumps(mid).encode())
        out.flush()
    elif tool == "no-answer":
        pass
    else:
        send({"jsonrpc": "2.0", "id": mid, "result": {"content": [{"type": "text", "text": "ok"}]}})
