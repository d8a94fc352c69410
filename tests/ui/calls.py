#!/usr/bin/env python3
"""Make tool calls through a real MCP client (the PyPI `mcp` SDK) for the dashboard's tests.

Usage: calls.py CALLS_JSON -- CMD [ARGS...]

CALLS_JSON is a list of [tool, arguments]. CMD is the server command (here `mcpfw wrap … --
server-filesystem …`). The calls are made one after another (a call held for approval waits
until someone decides). Prints one JSON line: [{"tool", "is_error", "text"}, …]; exit 0.
"""

import json
import os
import sys

import anyio
from mcp import Client, StdioServerParameters

_OUT = sys.stdout
sys.stdout = sys.stderr


async def main() -> None:
    calls = json.loads(sys.argv[1])
    cmd = sys.argv[sys.argv.index("--") + 1 :]
    params = StdioServerParameters(command=cmd[0], args=cmd[1:], env=dict(os.environ))
    results = []
    async with Client(params) as client:
        for tool, arguments in calls:
            result = await client.call_tool(tool, arguments)
            text = " ".join(b.text for b in result.content or [] if getattr(b, "type", "") == "text")
            results.append({"tool": tool, "is_error": bool(result.is_error), "text": text})
    _OUT.write(json.dumps(results) + "\n")
    _OUT.flush()


anyio.run(main)
