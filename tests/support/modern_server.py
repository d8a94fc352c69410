"""A real 2026-07-28 (stateless) MCP server over stdio, built with the PyPI `mcp` SDK.

The npm reference servers still negotiate 2025-11-25; this one lets the tests prove that the
firewall also understands the stateless era (`server/discover`, versions in `_meta`), including
its multi-round-trip requests: `book_table` asks the client a question (an `input_required`
result) and finishes when the client retries the call with the answer.
"""

from typing import Annotated

from pydantic import BaseModel

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.resolve import Elicit, Resolve

server = MCPServer("modern-echo")


@server.tool()
def echo(message: str) -> str:
    """Echoes back the input string."""
    return f"Echo: {message}"


class Seats(BaseModel):
    seats: int


def ask_seats(restaurant: str) -> Elicit[Seats]:
    return Elicit(f"How many seats at {restaurant}?", Seats)


@server.tool()
def book_table(restaurant: str, seats: Annotated[Seats, Resolve(ask_seats)]) -> str:
    """Books a table; asks how many seats."""
    return f"Booked {seats.seats} seats at {restaurant}"


if __name__ == "__main__":
    import sys

    if len(sys.argv) == 3 and sys.argv[1] == "--http":
        # Streamable HTTP on 127.0.0.1:PORT/mcp (the stateless era over HTTP).
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    elif len(sys.argv) == 3 and sys.argv[1] == "--sse":
        # The legacy HTTP+SSE transport on 127.0.0.1:PORT/sse (an older server's way).
        server.run("sse", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run("stdio")
