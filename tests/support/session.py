#!/usr/bin/env python3
"""One real MCP client process (the PyPI `mcp` SDK) with several stdio sessions open at once,
playing a scripted session of tool calls across them — as an agent does across the servers a
person has configured.

Usage: session.py SERVERS_JSON STEPS_FILE
SERVERS_JSON maps a server name to its command line (a JSON list; each is started with the
working folder given by the environment variable SESSION_CWD). STEPS_FILE holds a JSON list of
[server, tool, arguments]. Prints one JSON line: for each step, {"error": bool, "text": str}.
"""

import json
import os
import sys
from contextlib import AsyncExitStack

import anyio
from mcp import Client, StdioServerParameters
from mcp.shared.exceptions import MCPError

_OUT = sys.stdout
sys.stdout = sys.stderr


async def main() -> None:
    servers = json.loads(sys.argv[1])
    with open(sys.argv[2], encoding="utf-8") as f:
        steps = json.load(f)
    cwd = os.environ.get("SESSION_CWD")
    results = []
    async with AsyncExitStack() as stack:
        clients = {}
        for name, argv in servers.items():
            params = StdioServerParameters(
                command=argv[0], args=argv[1:], env=dict(os.environ), cwd=cwd
            )
            clients[name] = await stack.enter_async_context(
                Client(params, read_timeout_seconds=120)
            )
            await clients[name].list_tools()
        for server, tool, arguments in steps:
            try:
                r = await clients[server].call_tool(tool, arguments)
                text = "".join(b.text for b in r.content if getattr(b, "type", None) == "text")
                results.append({"error": bool(r.is_error), "text": text})
            except MCPError as e:
                results.append({"error": True, "text": str(e)})
    _OUT.write(json.dumps(results) + "\n")
    _OUT.flush()


anyio.run(main)
