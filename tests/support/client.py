#!/usr/bin/env python3
"""Drive a real MCP server over stdio with the real PyPI `mcp` SDK (v2.3.0) client.

Usage:
    client.py --scenario {echo,everything,filesystem,memory,read} [--root DIR] [--path FILE]
              [--mode auto|legacy] [--timeout SECONDS] -- CMD [ARGS...]

CMD is the server command (or `mcpfw wrap -- <server...>`, or tap.py around it).
The child gets this process's full environment (so e.g. MEMORY_FILE_PATH or any
MCPFW_* variable set by the test reaches the server / the firewall).

Prints exactly ONE JSON object on stdout (compact, sorted keys, one line):
    success: {"ok": true, "scenario": NAME, ...observations...}   exit 0
    failure: {"ok": false, "error": "..."}                        exit 1
Everything else (diagnostics, server stderr) goes to stderr.

The scenarios are deterministic: fixed arguments, request ids allocated
sequentially by the SDK, no wall-clock values, no randomness, and no feature
that makes the server send timer-driven traffic (see README section in
normalize.py for what remains nondeterministic on the wire).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from typing import Any

import anyio

# Keep stdout clean: anything that is not our final JSON line must go to stderr.
_REAL_STDOUT = sys.stdout
sys.stdout = sys.stderr

try:
    import mcp.types as types
    from mcp import Client, StdioServerParameters
    from mcp.client.session import ClientRequestContext
    from mcp.shared.exceptions import MCPError
except Exception as e:  # pragma: no cover - import failure is reported as JSON
    _REAL_STDOUT.write(json.dumps({"ok": False, "error": f"cannot import mcp SDK: {e!r}"}) + "\n")
    _REAL_STDOUT.flush()
    sys.exit(1)


CLIENT_INFO = types.Implementation(name="mcpfw-test-client", version="1.0.0")

# Fixed answers for server->client requests.
SAMPLING_MODEL = "mcpfw-test-model"
SAMPLING_TEXT = "deterministic sampling answer"
ELICIT_CONTENT: dict[str, Any] = {"name": "Firewall Tester", "check": True, "integer": 7}


class ScenarioError(Exception):
    pass


def check(cond: bool, msg: str) -> None:
    if not cond:
        raise ScenarioError(msg)


def log(msg: str) -> None:
    sys.stderr.write(f"client.py: {msg}\n")
    sys.stderr.flush()


def texts(result: Any) -> list[str]:
    """Text of every text content block of a tool result / prompt message list."""
    out = []
    for block in getattr(result, "content", None) or []:
        if getattr(block, "type", None) == "text":
            out.append(block.text)
    return out


def first_text(result: Any) -> str:
    t = texts(result)
    check(bool(t), f"expected a text content block, got {result!r}")
    return t[0]


def dump(model: Any) -> Any:
    if model is None:
        return None
    if hasattr(model, "model_dump"):
        return model.model_dump(by_alias=True, mode="json", exclude_none=True)
    return model


class Recorder:
    """Collects server->client traffic the SDK surfaces (notifications, callbacks)."""

    def __init__(self) -> None:
        self.notifications: dict[str, int] = {}
        self.progress_notifications: list[dict[str, Any]] = []  # every progress the message handler saw
        self.sampling_calls: list[dict[str, Any]] = []
        self.elicitation_calls: list[dict[str, Any]] = []
        self.stream_errors: list[str] = []
        self.progress_event = anyio.Event()

    async def message_handler(self, message: Any) -> None:
        if isinstance(message, Exception):
            self.stream_errors.append(repr(message))
            log(f"transport exception: {message!r}")
            return
        root = getattr(message, "root", message)
        method = getattr(root, "method", type(root).__name__)
        self.notifications[method] = self.notifications.get(method, 0) + 1
        if method == "notifications/progress":
            params = dump(getattr(root, "params", None)) or {}
            self.progress_notifications.append(params)
            self.progress_event.set()

    async def sampling_callback(
        self, context: ClientRequestContext, params: types.CreateMessageRequestParams
    ) -> types.CreateMessageResult:
        msgs = []
        for m in params.messages:
            c = m.content
            msgs.append({"role": m.role, "text": getattr(c, "text", None)})
        self.sampling_calls.append(
            {
                "max_tokens": params.max_tokens,
                "messages": msgs,
                "system_prompt": params.system_prompt,
            }
        )
        return types.CreateMessageResult(
            role="assistant",
            content=types.TextContent(type="text", text=SAMPLING_TEXT),
            model=SAMPLING_MODEL,
            stop_reason="endTurn",
        )

    async def elicitation_callback(
        self, context: ClientRequestContext, params: types.ElicitRequestParams
    ) -> types.ElicitResult:
        d = dump(params) or {}
        schema = d.get("requestedSchema") or {}
        self.elicitation_calls.append(
            {
                "message": d.get("message"),
                "mode": d.get("mode", "form"),
                "requested_fields": sorted((schema.get("properties") or {}).keys()),
            }
        )
        return types.ElicitResult(action="accept", content=dict(ELICIT_CONTENT))


def make_client(cmd: list[str], rec: Recorder, args: argparse.Namespace, *, server_requests: bool) -> Client:
    params: Any
    if args.sse:
        # The legacy HTTP+SSE transport (2024-11-05): the event stream at --sse.
        from mcp.client.sse import sse_client

        params = sse_client(args.sse, headers=dict(h.split(": ", 1) for h in args.header))
    elif args.url:
        # Streamable HTTP: the server (or MCP Firewall's proxy) at --url, with --header lines.
        from mcp.client.streamable_http import streamable_http_client
        from mcp.shared._httpx_utils import create_mcp_http_client

        headers = dict(h.split(": ", 1) for h in args.header)
        params = streamable_http_client(args.url, http_client=create_mcp_http_client(headers=headers))
    else:
        params = StdioServerParameters(command=cmd[0], args=cmd[1:], env=dict(os.environ))
    kwargs: dict[str, Any] = dict(
        mode=args.mode,
        client_info=CLIENT_INFO,
        read_timeout_seconds=args.timeout,
        message_handler=rec.message_handler,
        cache=None,  # every list/read must really go over the wire
    )
    if server_requests:
        kwargs["sampling_callback"] = rec.sampling_callback
        kwargs["elicitation_callback"] = rec.elicitation_callback
    return Client(params, **kwargs)


def base_info(client: Client) -> dict[str, Any]:
    info = client.server_info
    return {
        "protocol_version": client.protocol_version,
        "server_name": info.name if info is not None else None,
    }


# --------------------------------------------------------------------------- everything


async def scenario_everything(cmd: list[str], args: argparse.Namespace) -> dict[str, Any]:
    rec = Recorder()
    out: dict[str, Any] = {}
    async with make_client(cmd, rec, args, server_requests=True) as client:
        out.update(base_info(client))
        caps = client.server_capabilities
        out["server_capabilities"] = sorted(k for k, v in dump(caps).items() if v is not None)

        tools = await client.list_tools()
        names = sorted(t.name for t in tools.tools)
        out["tools"] = names

        # --- plain tool calls
        r = await client.call_tool("echo", {"message": "hello firewall"})
        out["echo"] = {"is_error": bool(r.is_error), "text": first_text(r)}

        r = await client.call_tool("get-sum", {"a": 2, "b": 3})
        out["sum"] = {
            "is_error": bool(r.is_error),
            "structured": r.structured_content,
            "text": first_text(r),
        }

        r = await client.call_tool("get-tiny-image", {})
        images = [b for b in r.content if getattr(b, "type", None) == "image"]
        check(len(images) == 1, f"expected one image block, got {r.content!r}")
        out["image"] = {
            "content_types": [b.type for b in r.content],
            "data_len": len(images[0].data),
            "mime_type": images[0].mime_type,
        }

        # --- resources (static documents only: dynamic ones embed a timestamp)
        res = await client.list_resources()
        static = sorted(x.uri for x in res.resources if x.uri.startswith("demo://resource/static/"))
        check(bool(static), f"no static resources in {[x.uri for x in res.resources]}")
        uri = static[0]
        rr = await client.read_resource(uri)
        check(len(rr.contents) == 1, f"expected one content item, got {len(rr.contents)}")
        c = rr.contents[0]
        text = getattr(c, "text", None)
        check(text is not None, "static resource is not text")
        out["resources"] = {
            "count": len(res.resources),
            "read_mime_type": c.mime_type,
            "read_text_len": len(text),
            "read_uri": str(c.uri),
            "uri": uri,
        }

        # --- prompts
        pl = await client.list_prompts()
        gp = await client.get_prompt("simple-prompt")
        out["prompts"] = {
            "get": "simple-prompt",
            "message_count": len(gp.messages),
            "first_text": getattr(gp.messages[0].content, "text", None) if gp.messages else None,
            "names": sorted(p.name for p in pl.prompts),
        }

        # --- progress
        progress: list[dict[str, Any]] = []

        async def on_progress(p: float, total: float | None, message: str | None) -> None:
            progress.append({"progress": p, "total": total})

        steps = 3
        r = await client.call_tool(
            "trigger-long-running-operation",
            {"duration": 0.3, "steps": steps},
            progress_callback=on_progress,
        )
        # Progress callbacks run as separate tasks; let the last one land.
        with anyio.move_on_after(2):
            while len(progress) < steps:
                await anyio.sleep(0.01)
        out["progress"] = {
            "is_error": bool(r.is_error),
            "result": first_text(r),
            "values": [p["progress"] for p in progress],
            "totals": sorted({p["total"] for p in progress}, key=lambda x: (x is None, x)),
        }

        # --- server->client requests (tools exist only because we declared the capabilities)
        if "trigger-sampling-request" in names:
            r = await client.call_tool("trigger-sampling-request", {"prompt": "say hi", "maxTokens": 16})
            t = "\n".join(texts(r))
            out["sampling"] = {
                "callback_invoked": len(rec.sampling_calls),
                "is_error": bool(r.is_error),
                "request": rec.sampling_calls[0] if rec.sampling_calls else None,
                "result_has_answer": SAMPLING_TEXT in t,
                "result_has_model": SAMPLING_MODEL in t,
            }
        else:
            out["sampling"] = None

        if "trigger-elicitation-request" in names:
            r = await client.call_tool("trigger-elicitation-request", {})
            out["elicitation"] = {
                "callback_invoked": len(rec.elicitation_calls),
                "is_error": bool(r.is_error),
                "request": rec.elicitation_calls[0] if rec.elicitation_calls else None,
                "result_texts": texts(r)[:2],
            }
        else:
            out["elicitation"] = None

        # --- cancellation: cancel a long-running call as soon as its first progress
        # notification arrives (event-driven, not a timer), then prove the session
        # still works. The server does not stop the operation: it keeps sending
        # progress for the cancelled request (but suppresses the response), so wait
        # for that straggler before going on — that keeps the wire order fixed.
        cancel_steps = 2
        first_progress = anyio.Event()
        cancel_progress: list[float] = []

        async def on_cancel_progress(p: float, total: float | None, message: str | None) -> None:
            cancel_progress.append(p)
            first_progress.set()

        seen_before = len(rec.progress_notifications)
        outcome: dict[str, Any] = {"result": None, "error": None}

        async def long_call() -> None:
            try:
                res = await client.call_tool(
                    "trigger-long-running-operation",
                    # 1 s per step: the cancel must reach the server within 1 s of the
                    # first progress notification for the transcript to be the usual one.
                    {"duration": 2.0, "steps": cancel_steps},
                    progress_callback=on_cancel_progress,
                )
                outcome["result"] = first_text(res)
            except MCPError as e:
                outcome["error"] = f"MCPError {e.code}: {e}"

        cancelled = False
        async with anyio.create_task_group() as tg:
            scope = anyio.CancelScope()

            async def runner() -> None:
                nonlocal cancelled
                try:
                    with scope:
                        await long_call()
                    cancelled = scope.cancelled_caught
                finally:
                    first_progress.set()  # also wakes the waiter if the call ended without progress

            tg.start_soon(runner)
            with anyio.fail_after(args.timeout):
                await first_progress.wait()
            scope.cancel()

        # Wait for the server's straggler progress notification(s) for the cancelled id.
        with anyio.move_on_after(5) as straggler_wait:
            while len(rec.progress_notifications) - seen_before < cancel_steps:
                await anyio.sleep(0.01)
        stray = rec.progress_notifications[seen_before:]
        r = await client.call_tool("echo", {"message": "after cancel"})
        out["cancellation"] = {
            "call_completed": outcome["result"] is not None,
            "call_error": outcome["error"],
            "cancelled": cancelled,
            "echo_after": first_text(r),
            "progress_before_cancel": cancel_progress,
            "server_progress_total": len(stray),
            "straggler_timeout": straggler_wait.cancelled_caught,
        }

        out["notifications"] = dict(sorted(rec.notifications.items()))
        out["stream_errors"] = rec.stream_errors
    return out


# --------------------------------------------------------------------------- filesystem


async def scenario_filesystem(cmd: list[str], args: argparse.Namespace) -> dict[str, Any]:
    check(args.root is not None, "--root DIR is required for the filesystem scenario")
    root = os.path.realpath(args.root)
    rec = Recorder()
    out: dict[str, Any] = {}
    async with make_client(cmd, rec, args, server_requests=False) as client:
        out.update(base_info(client))
        tools = await client.list_tools()
        names = sorted(t.name for t in tools.tools)
        out["tools"] = names

        r = await client.call_tool("list_allowed_directories", {})
        t = first_text(r)
        out["allowed"] = {"is_error": bool(r.is_error), "root_listed": root in t, "text": t.replace(root, "<ROOT>")}

        path = os.path.join(root, "hello.txt")
        content = "hello from the firewall test\nline 2\n"
        r = await client.call_tool("write_file", {"path": path, "content": content})
        out["write"] = {"is_error": bool(r.is_error), "text": first_text(r).replace(root, "<ROOT>")}
        with open(path, encoding="utf-8") as f:
            out["write"]["on_disk_matches"] = f.read() == content

        read_tool = "read_text_file" if "read_text_file" in names else "read_file"
        r = await client.call_tool(read_tool, {"path": path})
        out["read"] = {"is_error": bool(r.is_error), "matches": first_text(r) == content, "tool": read_tool}

        r = await client.call_tool("list_directory", {"path": root})
        out["list"] = {"is_error": bool(r.is_error), "text": first_text(r)}

        r = await client.call_tool(read_tool, {"path": "/etc/passwd"})
        t = "\n".join(texts(r))
        out["outside"] = {
            "is_error": bool(r.is_error),
            "leaked": "root:" in t,
            "text": t.replace(root, "<ROOT>"),
        }
        out["notifications"] = dict(sorted(rec.notifications.items()))
        out["stream_errors"] = rec.stream_errors
    return out


# --------------------------------------------------------------------------- memory


def json_text(result: Any) -> Any:
    t = first_text(result)
    try:
        return json.loads(t)
    except ValueError:
        return t


async def scenario_memory(cmd: list[str], args: argparse.Namespace) -> dict[str, Any]:
    if not os.environ.get("MEMORY_FILE_PATH"):
        log("warning: MEMORY_FILE_PATH is not set; server-memory will use its default file")
    rec = Recorder()
    out: dict[str, Any] = {}
    async with make_client(cmd, rec, args, server_requests=False) as client:
        out.update(base_info(client))
        tools = await client.list_tools()
        out["tools"] = sorted(t.name for t in tools.tools)

        entities = [
            {"name": "Alice", "entityType": "person", "observations": ["likes tea"]},
            {"name": "Firewall", "entityType": "software", "observations": ["guards MCP traffic"]},
        ]
        r = await client.call_tool("create_entities", {"entities": entities})
        out["create_entities"] = {"is_error": bool(r.is_error), "result": json_text(r), "structured": r.structured_content}

        relations = [{"from": "Alice", "to": "Firewall", "relationType": "operates"}]
        r = await client.call_tool("create_relations", {"relations": relations})
        out["create_relations"] = {"is_error": bool(r.is_error), "result": json_text(r), "structured": r.structured_content}

        r = await client.call_tool("read_graph", {})
        g = r.structured_content if r.structured_content is not None else json_text(r)
        out["read_graph"] = {
            "entities": sorted(e["name"] for e in g.get("entities", [])),
            "is_error": bool(r.is_error),
            "relations": sorted(f'{x["from"]}-{x["relationType"]}->{x["to"]}' for x in g.get("relations", [])),
        }

        r = await client.call_tool("search_nodes", {"query": "tea"})
        g = r.structured_content if r.structured_content is not None else json_text(r)
        out["search_nodes"] = {
            "entities": sorted(e["name"] for e in g.get("entities", [])),
            "is_error": bool(r.is_error),
            "query": "tea",
        }

        # Delete everything we created, so the storage file ends as it started
        # (the scenario is then re-runnable against the same MEMORY_FILE_PATH).
        r = await client.call_tool("delete_entities", {"entityNames": ["Alice", "Firewall"]})
        out["delete_entities"] = {"is_error": bool(r.is_error), "text": first_text(r)}

        r = await client.call_tool("read_graph", {})
        g = r.structured_content if r.structured_content is not None else json_text(r)
        out["read_graph_after_delete"] = {
            "entities": sorted(e["name"] for e in g.get("entities", [])),
            "relations": sorted(f'{x["from"]}-{x["relationType"]}->{x["to"]}' for x in g.get("relations", [])),
        }
        out["notifications"] = dict(sorted(rec.notifications.items()))
        out["stream_errors"] = rec.stream_errors
    return out


# --------------------------------------------------------------------------- echo


async def scenario_echo(cmd: list[str], args: argparse.Namespace) -> dict[str, Any]:
    """The smallest session: any server with an `echo` tool, in either protocol era."""
    rec = Recorder()
    out: dict[str, Any] = {}
    async with make_client(cmd, rec, args, server_requests=False) as client:
        out.update(base_info(client))
        tools = await client.list_tools()
        out["tools"] = sorted(t.name for t in tools.tools)
        r = await client.call_tool("echo", {"message": "hello firewall"})
        out["echo"] = {"is_error": bool(r.is_error), "text": first_text(r)}
        out["stream_errors"] = rec.stream_errors
    return out


async def scenario_read(cmd: list[str], args: argparse.Namespace) -> dict[str, Any]:
    """One read of --path with a filesystem server's read tool: what the client is given."""
    check(args.path is not None, "--path FILE is required for the read scenario")
    rec = Recorder()
    out: dict[str, Any] = {}
    async with make_client(cmd, rec, args, server_requests=False) as client:
        out.update(base_info(client))
        tools = await client.list_tools()
        names = sorted(t.name for t in tools.tools)
        read_tool = "read_text_file" if "read_text_file" in names else "read_file"
        r = await client.call_tool(read_tool, {"path": args.path})
        out["read"] = {"is_error": bool(r.is_error), "text": "\n".join(texts(r)), "tool": read_tool}
        out["stream_errors"] = rec.stream_errors
    return out


SCENARIOS = {
    "echo": scenario_echo,
    "read": scenario_read,
    "everything": scenario_everything,
    "filesystem": scenario_filesystem,
    "memory": scenario_memory,
}


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    if "--" not in argv:
        raise ScenarioError("missing '--' before the server command")
    i = argv.index("--")
    own, cmd = argv[:i], argv[i + 1 :]
    p = argparse.ArgumentParser(prog="client.py", add_help=True)
    p.add_argument("--scenario", required=True, choices=sorted(SCENARIOS))
    p.add_argument("--root", help="allowed directory for the filesystem scenario")
    p.add_argument("--path", help="the file the read scenario reads")
    p.add_argument(
        "--mode",
        default="auto",
        choices=["auto", "legacy"],
        help="auto (SDK default): probe server/discover, fall back to initialize; legacy: initialize only",
    )
    p.add_argument("--timeout", type=float, default=30.0, help="per-request read timeout (s)")
    p.add_argument("--url", help="talk Streamable HTTP to this URL instead of starting CMD")
    p.add_argument("--header", action="append", default=[], help="'Name: value' sent with every HTTP request")
    p.add_argument("--sse", help="talk the legacy HTTP+SSE transport to this event stream URL")
    ns = p.parse_args(own)
    if ns.url or ns.sse:
        return ns, cmd
    if not cmd:
        raise ScenarioError("missing server command after '--'")
    return ns, cmd


def emit(obj: dict[str, Any]) -> None:
    _REAL_STDOUT.write(json.dumps(obj, sort_keys=True, separators=(",", ":")) + "\n")
    _REAL_STDOUT.flush()


def main(argv: list[str]) -> int:
    try:
        args, cmd = parse_args(argv)
    except SystemExit as e:  # argparse error/--help
        if e.code == 0:
            return 0
        emit({"ok": False, "error": "bad command line"})
        return 1
    except ScenarioError as e:
        emit({"ok": False, "error": str(e)})
        return 1

    async def run() -> dict[str, Any]:
        with anyio.fail_after(args.timeout * 4):
            return await SCENARIOS[args.scenario](cmd, args)

    try:
        result = anyio.run(run)
    except BaseException as e:  # noqa: BLE001 - every failure becomes JSON
        if isinstance(e, KeyboardInterrupt):
            emit({"ok": False, "error": "interrupted"})
            return 1
        traceback.print_exc(file=sys.stderr)
        msg = f"{type(e).__name__}: {e}"
        if isinstance(e, TimeoutError) and not str(e):
            msg = f"TimeoutError: scenario did not finish within {args.timeout * 4:g}s"
        if isinstance(e, BaseExceptionGroup):  # noqa: F821 - py3.11 builtin
            leaves = []

            def walk(g: BaseException) -> None:
                if isinstance(g, BaseExceptionGroup):  # noqa: F821
                    for x in g.exceptions:
                        walk(x)
                else:
                    leaves.append(f"{type(g).__name__}: {g}")

            walk(e)
            msg = "; ".join(leaves)
        emit({"ok": False, "error": msg})
        return 1
    result = {"ok": True, "scenario": args.scenario, "mode": args.mode, **result}
    emit(result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
