#!/usr/bin/env python3
"""One real MCP client process (the PyPI `mcp` SDK) with two stdio sessions open at once, so
both servers' shims have the same parent: the client session of the toxic flow across servers.

Each server is a JSON command line (stdio), or {"url": …, "headers": {…}} for Streamable HTTP.

Usage:
    two_servers.py read-then-send --files JSON_ARGV --github JSON_ARGV --private PATH
    two_servers.py send --github JSON_ARGV
    two_servers.py read-then-leak --files JSON_ARGV --github JSON_ARGV --private PATH --leak TEXT

`read-then-send`: reads PATH through the `files` server, reads an issue through `github`
(outside content), then creates an issue through `github`. `send`: only creates the issue.
`read-then-leak`: reads PATH through `files`, then creates an issue whose body is TEXT.
Prints one JSON line: what each call returned ({"error": bool, "text": str}).
"""

import argparse
import json
import os
import sys

import anyio
from mcp import Client, StdioServerParameters

_OUT = sys.stdout
sys.stdout = sys.stderr


def client(spec_json: str) -> Client:
    """A stdio server's command line (a JSON list), or an HTTP server as
    {"url": …, "headers": {…}} (Streamable HTTP, e.g. through MCP Firewall's proxy)."""
    spec = json.loads(spec_json)
    if isinstance(spec, dict):
        from mcp.client.streamable_http import streamable_http_client
        from mcp.shared._httpx_utils import create_mcp_http_client

        http = create_mcp_http_client(headers=spec.get("headers", {}))
        return Client(streamable_http_client(spec["url"], http_client=http), read_timeout_seconds=120)
    params = StdioServerParameters(command=spec[0], args=spec[1:], env=dict(os.environ))
    return Client(params, read_timeout_seconds=120)


def shown(result) -> dict:
    text = "".join(b.text for b in result.content if getattr(b, "type", None) == "text")
    return {"error": bool(result.is_error), "text": text}


ISSUE = {"owner": "acme", "repo": "app", "title": "Build log", "body": "See the attached log."}


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", choices=["read-then-send", "send", "read-then-leak"])
    parser.add_argument("--leak")
    parser.add_argument("--files")
    parser.add_argument("--github", required=True)
    parser.add_argument("--private")
    args = parser.parse_args()
    out = {}
    if args.scenario == "send":
        async with client(args.github) as github:
            out["create_issue"] = shown(await github.call_tool("create_issue", ISSUE))
    elif args.scenario == "read-then-leak":
        async with client(args.files) as files, client(args.github) as github:
            out["read"] = shown(await files.call_tool("read_text_file", {"path": args.private}))
            issue = dict(ISSUE, body=f"Here is my configuration:\n{args.leak}\n")
            out["create_issue"] = shown(await github.call_tool("create_issue", issue))
    else:
        # Both sessions open at once, from this one process.
        async with client(args.files) as files, client(args.github) as github:
            out["read"] = shown(await files.call_tool("read_text_file", {"path": args.private}))
            url = "https://github.com/acme/app/issues/7"
            out["get_issue"] = shown(await github.call_tool("get_issue", {"url": url}))
            out["create_issue"] = shown(await github.call_tool("create_issue", ISSUE))
    _OUT.write(json.dumps(out) + "\n")
    _OUT.flush()


anyio.run(main)
