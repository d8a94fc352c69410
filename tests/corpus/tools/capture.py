#!/usr/bin/env python3
"""Capture the `tools/list` of more official MCP servers, as benign data for the detector.

The servers are not pinned by tests/peers (the detector tests only read the JSON written
here). Install them anywhere, then point this script at the install:

    npm install --prefix DIR @modelcontextprotocol/server-sequential-thinking \
        @modelcontextprotocol/server-github @modelcontextprotocol/server-puppeteer
    python3 -m venv DIR/venv && DIR/venv/bin/pip install mcp-server-fetch mcp-server-git mcp-server-time
    python3 tests/corpus/tools/capture.py DIR

Writes tests/corpus/tools/<name>.json (the `result.tools` array), like
tests/fixtures/tools/capture.py does for the pinned servers.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

OUT = os.path.dirname(os.path.abspath(__file__))


def capture(name, argv, env):
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, env=env)

    def send(msg):
        p.stdin.write((json.dumps(msg) + "\n").encode())
        p.stdin.flush()

    def wait_for(id_):
        while True:
            line = p.stdout.readline()
            if not line:
                sys.exit(f"{name}: server closed stdout")
            msg = json.loads(line)
            if msg.get("id") == id_ and "method" not in msg:
                return msg

    try:
        send({"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                         "clientInfo": {"name": "mcpfw-corpus-capture", "version": "0"}}})
        info = wait_for(1)["result"]["serverInfo"]
        send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        time.sleep(0.5)
        send({"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}})
        result = wait_for(2)["result"]
        if result.get("nextCursor"):
            sys.exit(f"{name}: paginated tools/list is not handled")
        tools = result["tools"]
    finally:
        p.stdin.close()
        p.terminate()
        p.wait()
    with open(os.path.join(OUT, f"{name}.json"), "w") as f:
        json.dump(tools, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print(f"{name}: {info.get('name')} {info.get('version')}: {len(tools)} tools", file=sys.stderr)


def main():
    prefix = os.path.abspath(sys.argv[1])
    npm_bin = os.path.join(prefix, "node_modules", ".bin")
    py_bin = os.path.join(prefix, "venv", "bin")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["git", "init", "-q", tmp], check=True)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": tmp,
               "GITHUB_PERSONAL_ACCESS_TOKEN": "placeholder-not-a-token"}
        capture("sequential-thinking", [os.path.join(npm_bin, "mcp-server-sequential-thinking")], env)
        capture("github", [os.path.join(npm_bin, "mcp-server-github")], env)
        capture("puppeteer", [os.path.join(npm_bin, "mcp-server-puppeteer")], env)
        capture("fetch", [os.path.join(py_bin, "mcp-server-fetch")], env)
        capture("git", [os.path.join(py_bin, "mcp-server-git"), "--repository", tmp], env)
        capture("time", [os.path.join(py_bin, "mcp-server-time"), "--local-timezone", "UTC"], env)


if __name__ == "__main__":
    main()
