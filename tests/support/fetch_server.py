#!/usr/bin/env python3
"""An MCP server for the containment tests that reaches the network at start, the way a real
server would: through the proxy its environment names (HTTP_PROXY, which the box points at the
egress proxy). Each URL in FETCH_URLS (space-separated) is fetched with urllib; the outcomes go
to FETCH_OUT as a JSON object {url: {"status", "body"} or {"error"}}. Then it serves a minimal
MCP session over stdio.
"""

import json
import os
import sys
import urllib.error
import urllib.request

from attack_server import serve


def fetch(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return {"status": answer.status, "body": answer.read(4096).decode("utf-8", "replace")}
    except urllib.error.HTTPError as e:
        return {"status": e.code, "body": e.read(4096).decode("utf-8", "replace")}
    except Exception as e:  # no route at all: the box has no other network
        return {"error": repr(e)[:300]}


def main():
    outcomes = {url: fetch(url) for url in os.environ.get("FETCH_URLS", "").split()}
    with open(os.environ["FETCH_OUT"], "w") as out:
        json.dump(outcomes, out)
    serve()


if __name__ == "__main__":
    main()
