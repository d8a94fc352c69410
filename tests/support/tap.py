#!/usr/bin/env python3
"""Byte-exact stdio tap for MCP integration tests (stdlib only).

Usage:
    tap.py --log DIR -- CMD [ARGS...]

Spawns CMD and relays, unbuffered and byte-for-byte:
    * tap's stdin   -> CMD's stdin   (appended to DIR/c2s.bin)
    * CMD's stdout  -> tap's stdout  (appended to DIR/s2c.bin)
CMD's stderr is inherited (passes straight through).

Every chunk is appended to its log file *before* it is forwarded, and the log
files are opened unbuffered, so at any instant a log holds at least every byte
the other side has seen, and both logs are complete once tap exits.

Lifecycle:
    * When tap's stdin reaches EOF, CMD's stdin is closed; if CMD has not exited
      5 s later it is killed (SIGKILL).
    * SIGTERM / SIGINT received by tap are forwarded to CMD.
    * tap exits with CMD's exit code (128+N if CMD died from signal N);
      127 if CMD could not be started, 2 on usage errors.
    * Anything CMD writes to stdout after tap's own stdout broke is drained
      (so CMD never blocks) but neither forwarded nor logged.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from typing import NoReturn

CHUNK = 65536
STDIN_CLOSE_GRACE_SECONDS = 5.0
STDOUT_DRAIN_AFTER_EXIT_SECONDS = 2.0


def _usage(msg: str) -> NoReturn:
    sys.stderr.write(f"tap.py: {msg}\nusage: tap.py --log DIR -- CMD [ARGS...]\n")
    sys.stderr.flush()
    sys.exit(2)


def _parse_args(argv: list[str]) -> tuple[str, list[str]]:
    log_dir: str | None = None
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            cmd = argv[i + 1 :]
            break
        if arg == "--log":
            if i + 1 >= len(argv):
                _usage("--log needs a value")
            log_dir = argv[i + 1]
            i += 2
            continue
        if arg.startswith("--log="):
            log_dir = arg[len("--log=") :]
            i += 1
            continue
        _usage(f"unexpected argument {arg!r}")
    else:
        _usage("missing '--' before the command")
    if log_dir is None:
        _usage("--log DIR is required")
    if not cmd:
        _usage("missing command after '--'")
    return log_dir, cmd


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _log(msg: str) -> None:
    try:
        sys.stderr.write(f"tap.py: {msg}\n")
        sys.stderr.flush()
    except Exception:
        pass


def main(argv: list[str]) -> int:
    log_dir, cmd = _parse_args(argv)
    os.makedirs(log_dir, exist_ok=True)
    # buffering=0: every write() is a syscall, i.e. the log is "flushed" per chunk.
    c2s_log = open(os.path.join(log_dir, "c2s.bin"), "ab", buffering=0)
    s2c_log = open(os.path.join(log_dir, "s2c.bin"), "ab", buffering=0)

    try:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,  # inherit: stderr passes through untouched
            bufsize=0,
            close_fds=True,
        )
    except OSError as e:
        _log(f"cannot start {cmd[0]!r}: {e}")
        return 127

    assert proc.stdin is not None and proc.stdout is not None
    child_in = proc.stdin.fileno()
    child_out = proc.stdout.fileno()
    stdin_fd = sys.stdin.fileno()
    stdout_fd = sys.stdout.fileno()

    def forward_signal(signum: int, _frame: object) -> None:
        try:
            proc.send_signal(signum)
        except (ProcessLookupError, OSError):
            pass

    signal.signal(signal.SIGTERM, forward_signal)
    signal.signal(signal.SIGINT, forward_signal)

    def pump_c2s() -> None:
        """tap stdin -> child stdin; on EOF close child stdin, wait 5 s, then kill."""
        try:
            while True:
                try:
                    data = os.read(stdin_fd, CHUNK)
                except InterruptedError:
                    continue
                except OSError as e:
                    _log(f"reading stdin failed: {e}")
                    break
                if not data:
                    break
                c2s_log.write(data)
                try:
                    _write_all(child_in, data)
                except (BrokenPipeError, OSError) as e:
                    _log(f"child stdin closed ({e}); no longer relaying client->server")
                    break
        finally:
            try:
                proc.stdin.close()  # type: ignore[union-attr]
            except OSError:
                pass
        try:
            proc.wait(timeout=STDIN_CLOSE_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            _log(f"child still running {STDIN_CLOSE_GRACE_SECONDS:g}s after stdin closed; killing it")
            try:
                proc.kill()
            except OSError:
                pass

    def pump_s2c() -> None:
        """child stdout -> tap stdout; keeps draining (unlogged) if tap's stdout breaks."""
        stdout_ok = True
        while True:
            try:
                data = os.read(child_out, CHUNK)
            except InterruptedError:
                continue
            except OSError as e:
                _log(f"reading child stdout failed: {e}")
                break
            if not data:
                break
            if not stdout_ok:
                continue
            s2c_log.write(data)
            try:
                _write_all(stdout_fd, data)
            except (BrokenPipeError, OSError) as e:
                _log(f"stdout closed ({e}); draining child output without relaying")
                stdout_ok = False

    t_in = threading.Thread(target=pump_c2s, name="tap-c2s", daemon=True)
    t_out = threading.Thread(target=pump_s2c, name="tap-s2c", daemon=True)
    t_out.start()
    t_in.start()

    rc = proc.wait()
    # The child is gone; its stdout hits EOF unless a grandchild still holds it.
    t_out.join(STDOUT_DRAIN_AFTER_EXIT_SECONDS)
    if rc < 0:
        rc = 128 + (-rc)
    # os._exit: the stdin pump may still be blocked in read(); nothing is buffered
    # (logs are unbuffered, relays use os.write), so skipping finalisation is safe
    # and the log files are deliberately left open for the pumps until then.
    os._exit(rc)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
