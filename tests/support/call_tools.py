#!/usr/bin/env python3
"""Call tools through a real MCP client (the PyPI `mcp` SDK) and report what the client saw.

Usage: call_tools.py CALLS_JSON -- CMD [ARGS...]
CALLS_JSON is a list of [tool, arguments]. Prints one JSON line:
{"tools": [names], "results": [{"is_error": bool, "text": "..."}]}; exit 0. A call the server
or the firewall refuses is a result with is_error true (or the JSON-RPC error's message).
"""

import json
import os
import sys

import anyio
from mcp import Client, StdioServerParameters
from mcp.shared.exceptions import MCPError

_OUT = sys.stdout
sys.stdout = sys.stderr


async def main() -> None:
    calls = json.loads(sys.argv[1])
    cmd = sys.argv[sys.argv.index("--") + 1 :]
    params = StdioServerParameters(command=cmd[0], args=cmd[1:], env=dict(os.environ))
    results = []
    async with Client(params, read_timeout_seconds=60) as client:
        listed = await client.list_tools()
        for tool, arguments in calls:
            try:
                r = await client.call_tool(tool, arguments)
                text = "\n".join(c.text for c in r.content if getattr(c, "type", "") == "text")
                results.append({"is_error": bool(r.is_error), "text": text})
            except MCPError as e:
                results.append({"is_error": True, "text": str(e)})
    _OUT.write(json.dumps({"tools": sorted(t.name for t in listed.tools), "results": results}) + "\n")
    _OUT.flush()


anyio.run(main)
