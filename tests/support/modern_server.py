"""A real 2026-07-28 (stateless) MCP server over stdio, built with the PyPI `mcp` SDK.

The npm reference servers still negotiate 2025-11-25; this one lets the tests prove that the
firewall also understands the stateless era (`server/discover`, versions in `_meta`).
"""

from mcp.server.mcpserver import MCPServer

server = MCPServer("modern-echo")


@server.tool()
def echo(message: str) -> str:
    """Echoes back the input string."""
    return f"Echo: {message}"


if __name__ == "__main__":
    server.run("stdio")
