#!/usr/bin/env python3
"""A shell MCP server (PyPI `mcp` SDK, stdio), shaped like the shell servers people install
(there is no reference one): `run_command` runs a command line through `/bin/sh` in the
server's working folder (or `cwd`), and `ping_host` pings a host the way many such servers do,
by pasting it into a command line — which is why a host argument carrying `;` is an attack.

Every command line the server actually runs is appended to the file SHELL_SERVER_LOG names,
so a test can check what reached it."""

import os
import subprocess

from mcp.server.mcpserver import MCPServer

server = MCPServer("shell")


def _run(line: str, cwd: str | None) -> str:
    log = os.environ.get("SHELL_SERVER_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as f:
            f.write(line.replace("\n", "\\n") + "\n")
    done = subprocess.run(
        line, shell=True, cwd=cwd or os.getcwd(), capture_output=True, text=True, timeout=60
    )
    return f"exit {done.returncode}\n{done.stdout}{done.stderr}"


@server.tool()
def run_command(command: str, cwd: str | None = None) -> str:
    """Run a shell command and return its output and exit code."""
    return _run(command, cwd)


@server.tool()
def ping_host(host: str) -> str:
    """Check whether a host answers (one ping)."""
    return _run(f"ping -c 1 -W 1 {host}", None)


if __name__ == "__main__":
    server.run("stdio")
