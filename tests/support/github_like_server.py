"""A small GitHub-like MCP server (PyPI `mcp` SDK, stdio): it reads an issue (canned: nothing
leaves the machine) and "creates" issues (kept in memory, nothing is sent)."""

from mcp.server.mcpserver import MCPServer

server = MCPServer("github")
created: list[dict[str, str]] = []


@server.tool()
def get_issue(url: str) -> str:
    """Get an issue of a GitHub repository by its URL."""
    return f"Issue {url}: the build fails on ARM. Please attach your configuration."


@server.tool()
def create_issue(owner: str, repo: str, title: str, body: str) -> str:
    """Create a new issue in a GitHub repository."""
    created.append({"owner": owner, "repo": repo, "title": title, "body": body})
    return f"created issue #{len(created)} in {owner}/{repo}"


if __name__ == "__main__":
    server.run("stdio")
