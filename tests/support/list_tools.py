#!/usr/bin/env python3
"""List a server's tools through a real MCP client (the PyPI `mcp` SDK).

Usage: list_tools.py -- CMD [ARGS...]   Prints one JSON line: the tool names, sorted; exit 0.
"""

import json
import os
import sys

import anyio
from mcp import Client, StdioServerParameters

_OUT = sys.stdout
sys.stdout = sys.stderr


async def main() -> None:
    cmd = sys.argv[sys.argv.index("--") + 1 :]
    params = StdioServerParameters(command=cmd[0], args=cmd[1:], env=dict(os.environ))
    async with Client(params) as client:
        listed = await client.list_tools()
    _OUT.write(json.dumps(sorted(t.name for t in listed.tools)) + "\n")
    _OUT.flush()


anyio.run(main)
