"""A small GitHub-like MCP server (PyPI `mcp` SDK, stdio), shaped like the GitHub server's
tools: it reads issues, files and code search results (canned: nothing leaves the machine) and
"creates" issues, comments and pull requests (kept in memory, nothing is sent). The issue text
can be set with GITHUB_LIKE_ISSUE_TEXT (an issue that carries instructions). `--http PORT`
serves Streamable HTTP on 127.0.0.1:PORT instead of stdio."""

import os

from mcp.server.mcpserver import MCPServer

server = MCPServer("github")
created: list[dict[str, str]] = []


@server.tool()
def get_issue(url: str) -> str:
    """Get an issue of a GitHub repository by its URL."""
    text = os.environ.get(
        "GITHUB_LIKE_ISSUE_TEXT", "the build fails on ARM. Please attach your configuration."
    )
    return f"Issue {url}: {text}"


@server.tool()
def list_issues(owner: str, repo: str, state: str = "open") -> str:
    """List issues in a GitHub repository."""
    return f"{owner}/{repo} ({state}): #12 Build fails on ARM; #15 Typo in README"


@server.tool()
def get_file_contents(owner: str, repo: str, path: str, ref: str = "main") -> str:
    """Get the contents of a file from a GitHub repository."""
    return f"# {path} at {ref} in {owner}/{repo}\nprint('hello')\n"


@server.tool()
def search_code(query: str) -> str:
    """Search for code across GitHub repositories."""
    return f"3 results for {query!r}: acme/app src/util.py, acme/lib core.py, acme/cli main.py"


@server.tool()
def add_issue_comment(owner: str, repo: str, issue_number: int, body: str) -> str:
    """Add a comment to an existing issue."""
    created.append({"owner": owner, "repo": repo, "issue": str(issue_number), "body": body})
    return f"commented on {owner}/{repo}#{issue_number}"


@server.tool()
def create_pull_request(owner: str, repo: str, title: str, body: str, head: str, base: str) -> str:
    """Create a new pull request in a GitHub repository."""
    created.append({"owner": owner, "repo": repo, "title": title, "body": body})
    return f"opened pull request #{len(created)} in {owner}/{repo}: {head} → {base}"


@server.tool()
def create_issue(owner: str, repo: str, title: str, body: str) -> str:
    """Create a new issue in a GitHub repository."""
    created.append({"owner": owner, "repo": repo, "title": title, "body": body})
    return f"created issue #{len(created)} in {owner}/{repo}"


if __name__ == "__main__":
    import sys

    if len(sys.argv) == 3 and sys.argv[1] == "--http":
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run("stdio")
