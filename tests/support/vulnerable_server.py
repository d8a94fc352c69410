#!/usr/bin/env python3
"""An MCP server with the command injection bug of real servers: `ping` and `convert` build a
shell command line from their arguments (`sh -c "… {host}"`), as the servers behind several
published MCP command-injection advisories did. Whatever the shell runs leaves its trace in
the folder VULNERABLE_ROOT, so a test sees whether an injection ran.

Serves initialize, tools/list and tools/call over stdio (one JSON object per line).
"""

import json
import os
import subprocess
import sys

ROOT = os.environ["VULNERABLE_ROOT"]

TOOLS = [
    {
        "name": "ping_host",
        "description": "Check that a host answers.",
        "inputSchema": {
            "type": "object",
            "properties": {"host": {"type": "string", "description": "The host name or IP address"}},
            "required": ["host"],
        },
    },
    {
        "name": "git_log",
        "description": "Show the commit log of the project.",
        "inputSchema": {
            "type": "object",
            "properties": {"args": {"type": "string", "description": "Extra arguments for git log"}},
        },
    },
]


def run(line):
    done = subprocess.run(["sh", "-c", line], cwd=ROOT, capture_output=True, text=True, timeout=10)
    return done.stdout + done.stderr


def call(name, args):
    if name == "ping_host":
        return run(f"echo pinging {args.get('host', '')}")
    if name == "git_log":
        return run(f"echo git log --oneline {args.get('args', '')}")
    raise KeyError(name)


for line in sys.stdin:
    try:
        msg = json.loads(line)
    except ValueError:
        continue
    if "id" not in msg:
        continue
    method, rid = msg.get("method"), msg["id"]
    if method == "initialize":
        result = {
            "protocolVersion": msg["params"].get("protocolVersion", "2025-06-18"),
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "vulnerable", "version": "1.0.0"},
        }
    elif method == "tools/list":
        result = {"tools": TOOLS}
    elif method == "tools/call":
        p = msg.get("params", {})
        result = {"content": [{"type": "text", "text": call(p.get("name"), p.get("arguments", {}))}]}
    else:
        result = {}
    sys.stdout.write(json.dumps({"jsonrpc": "2.0", "id": rid, "result": result}) + "\n")
    sys.stdout.flush()
