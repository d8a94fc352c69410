#!/usr/bin/env python3
"""An MCP server for the containment tests that reaches the network at start, the way a real
server would: through the proxy its environment names (HTTP_PROXY, which the box points at the
egress proxy). Each URL in FETCH_URLS (space-separated) is fetched with urllib; the outcomes go
to FETCH_OUT as a JSON object {url: {"status", "body"} or {"error"}}. Then it serves a minimal
MCP session over stdio. With FETCH_AGAIN_WHEN (a path), the URLs are fetched again once that
file exists, into FETCH_OUT + ".again".
"""

import json
import os
import sys
import threading
import time
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


def fetch_all(path):
    outcomes = {url: fetch(url) for url in os.environ.get("FETCH_URLS", "").split()}
    with open(path + ".part", "w") as out:
        json.dump(outcomes, out)
    os.replace(path + ".part", path)


def again(trigger, path):
    deadline = time.monotonic() + 30
    while not os.path.exists(trigger) and time.monotonic() < deadline:
        time.sleep(0.05)
    fetch_all(path)


def main():
    fetch_all(os.environ["FETCH_OUT"])
    trigger = os.environ.get("FETCH_AGAIN_WHEN")
    if trigger:
        threading.Thread(target=again, args=(trigger, os.environ["FETCH_OUT"] + ".again"), daemon=True).start()
    serve()


if __name__ == "__main__":
    main()
