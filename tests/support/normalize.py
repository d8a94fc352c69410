#!/usr/bin/env python3
"""Normalise MCP stdio transcripts (tap.py's c2s.bin / s2c.bin) so two runs compare equal.

Findings from running client.py's scenarios repeatedly (directly, through one
tap, through two stacked taps, 10 sessions in parallel): with the scenarios as
written, the transcripts are already BYTE-IDENTICAL from run to run. Nothing
needs masking for timing or randomness, because the scenarios avoid every
source of it:

  * server-everything
      - dynamic resources `demo://resource/dynamic/{text,blob}/N` embed
        `new Date().toLocaleTimeString()`        -> only static documents are read
      - `toggle-simulated-logging` sends a random-level log every 5 s
                                                   -> never called
      - `toggle-subscriber-updates` sends timer-driven resources/updated
                                                   -> never called
      - declaring the `roots` capability makes the server send `roots/list`
        350 ms after `initialized` (setTimeout), which lands at a random point
        in the stream                            -> the client does not declare roots
      - `get-env` returns the server's whole environment -> never called
      - it keeps sending progress for a cancelled request (but suppresses the
        response)                                -> the client cancels when the
        first progress arrives and waits for the straggler before going on
      - 4 x `notifications/tools/list_changed` right after `initialized`
        (conditional tools being registered) - deterministic in count and place
  * server-filesystem: list_directory_with_sizes / get_file_info / directory
    mtimes are avoided. The allowed root path appears in both directions
    (tool arguments, result texts, structuredContent, error messages).
  * server-memory: nothing (the storage file path never goes on the wire).
  * mcp SDK client: request ids are sequential from 1 (progressToken = request
    id), the cancel reason is the fixed "caller cancelled", `server/discover`
    probing (mode=auto) gets a fixed -32601 from these servers. No OTel SDK is
    installed, so no `_meta.traceparent` is injected.

So the ONLY thing this module masks is a literal string you name - in practice
the filesystem root when two runs use different (e.g. random temporary)
directories. Run-to-run comparisons with the same root need no normalisation.

Latent sources (NOT masked, documented so a failing comparison is quick to
diagnose):
  * mode=auto: if the server takes > 10 s to answer `server/discover`
    (DISCOVER_TIMEOUT_SECONDS) the SDK falls back to `initialize` without
    waiting, and the late error reply lands later in s2c. Use --mode legacy to
    remove the probe altogether.
  * The cancellation step assumes the client's `notifications/cancelled`
    reaches the server within 1 s of the first progress notification;
    otherwise the operation's final result appears in s2c.
  * Installing/configuring an OpenTelemetry SDK + propagator would add a random
    `_meta.traceparent` to every client request.

CLI:
    normalize.py [--replace OLD=NEW ...] FILE            # normalised bytes -> stdout
    normalize.py --compare A B [--replace OLD=NEW ...]
                 [--replace-a OLD=NEW ...] [--replace-b OLD=NEW ...]
        exit 0 if equal after normalisation, else 1 with the first differing
        line (1-based) on stderr. --replace applies to both files,
        --replace-a / --replace-b to one side only (e.g. two different roots
        both mapped to <ROOT>).

Python:
    from normalize import normalize, compare
    normalize(data: bytes, {"/tmp/.tmpAb12": "<ROOT>"}) -> bytes
    compare(a: bytes, b: bytes, repl_a, repl_b) -> None | (line_no, line_a, line_b)

Each replacement also covers the string's JSON-escaped spelling (e.g. Windows
back-slashes) and, when OLD is an existing path, its realpath (the filesystem
server and client.py both put realpaths on the wire).
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Mapping

__all__ = ["normalize", "compare", "expand_replacements"]


def expand_replacements(replacements: Mapping[str, str] | None) -> list[tuple[bytes, bytes]]:
    """OLD->NEW pairs as bytes, with JSON-escaped and realpath spellings added; longest first."""
    pairs: dict[bytes, bytes] = {}
    for old, new in (replacements or {}).items():
        if not old:
            raise ValueError("empty replacement key")
        spellings = {old}
        if os.path.exists(old):
            spellings.add(os.path.realpath(old))
        for s in list(spellings):
            spellings.add(json.dumps(s, ensure_ascii=False)[1:-1])
            spellings.add(json.dumps(s, ensure_ascii=True)[1:-1])
        for s in spellings:
            pairs[s.encode("utf-8")] = new.encode("utf-8")
    return sorted(pairs.items(), key=lambda kv: len(kv[0]), reverse=True)


def normalize(data: bytes, replacements: Mapping[str, str] | None = None) -> bytes:
    """Replace every named literal (see module doc); everything else is left byte-exact."""
    pairs = expand_replacements(replacements)
    if not pairs:
        return data
    # One left-to-right regex pass (longest alternative first), so a replacement's
    # output is never matched again.
    table = dict(pairs)
    pattern = re.compile(b"|".join(re.escape(old) for old, _ in pairs))
    return pattern.sub(lambda m: table[m.group(0)], data)


def compare(
    a: bytes,
    b: bytes,
    repl_a: Mapping[str, str] | None = None,
    repl_b: Mapping[str, str] | None = None,
) -> tuple[int, bytes, bytes] | None:
    """None if equal after normalisation, else (1-based line number, line_a, line_b)."""
    na, nb = normalize(a, repl_a), normalize(b, repl_b)
    if na == nb:
        return None
    la, lb = na.split(b"\n"), nb.split(b"\n")
    for idx in range(max(len(la), len(lb))):
        x = la[idx] if idx < len(la) else b"<EOF>"
        y = lb[idx] if idx < len(lb) else b"<EOF>"
        if x != y:
            return idx + 1, x, y
    return len(la), b"", b""  # unreachable: unequal bytes differ on some line


def _parse_pair(s: str) -> tuple[str, str]:
    if "=" not in s:
        raise SystemExit(f"normalize.py: expected OLD=NEW, got {s!r}")
    old, new = s.split("=", 1)
    return old, new


def main(argv: list[str]) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="normalize.py", description=__doc__.split("\n\n")[0])
    p.add_argument("files", nargs="*")
    p.add_argument("--compare", nargs=2, metavar=("A", "B"))
    p.add_argument("--replace", action="append", default=[], metavar="OLD=NEW")
    p.add_argument("--replace-a", action="append", default=[], metavar="OLD=NEW")
    p.add_argument("--replace-b", action="append", default=[], metavar="OLD=NEW")
    ns = p.parse_args(argv)
    both = dict(_parse_pair(x) for x in ns.replace)
    if ns.compare:
        ra = {**both, **dict(_parse_pair(x) for x in ns.replace_a)}
        rb = {**both, **dict(_parse_pair(x) for x in ns.replace_b)}
        with open(ns.compare[0], "rb") as f:
            a = f.read()
        with open(ns.compare[1], "rb") as f:
            b = f.read()
        diff = compare(a, b, ra, rb)
        if diff is None:
            return 0
        line, x, y = diff
        sys.stderr.write(
            f"normalize.py: transcripts differ at line {line}:\n"
            f"  A: {x[:400].decode('utf-8', 'replace')}\n"
            f"  B: {y[:400].decode('utf-8', 'replace')}\n"
        )
        return 1
    if len(ns.files) != 1:
        p.error("give exactly one FILE (or use --compare A B)")
    with open(ns.files[0], "rb") as f:
        data = f.read()
    sys.stdout.buffer.write(normalize(data, both))
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
