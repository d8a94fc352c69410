#!/usr/bin/env python3
"""A flood of small `tools/call`s through one `mcpfw wrap` (or straight to the server), for
docs/performance.md ("A flood of small calls").

    benches/support/flood.py MCPFW SERVER N [--seq] [--direct] [--home DIR]

SERVER is run as `RELAY_BENCH_ROLE=echo-server SERVER` (the relay bench's own binary,
`$CARGO_TARGET_DIR/release/deps/relay-*` after `cargo bench --bench relay --no-run`, or any
stdio server). N echo calls are pipelined from a writer thread (or, with --seq, sent one at a
time, each waiting for its answer: p50 and p99 of the round trip). Printed: messages a second;
the history's count of `echo` events (with --home, or a scratch MCPFW_HOME); the shim's CPU
time per message, by thread (from /proc, ns); and its context switches per message, by thread.
"""
import os, sqlite3, subprocess, sys, tempfile, threading, time

mcpfw, server, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
direct, seq = '--direct' in sys.argv, '--seq' in sys.argv
home = sys.argv[sys.argv.index('--home') + 1] if '--home' in sys.argv else tempfile.mkdtemp(prefix='flood-')
env = dict(os.environ, RELAY_BENCH_ROLE='echo-server', MCPFW_HOME=home)
cmd = [server] if direct else [mcpfw, 'wrap', '--name', 'bench', '--', server]
p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, bufsize=0)
pending = bytearray()


def readline():
    global pending
    while True:
        i = pending.find(b'\n')
        if i >= 0:
            line = bytes(pending[:i])
            del pending[:i + 1]
            return line
        chunk = os.read(p.stdout.fileno(), 1 << 16)
        if not chunk:
            raise SystemExit('the shim closed its output')
        pending += chunk


p.stdin.write(b'{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18",'
              b'"capabilities":{},"clientInfo":{"name":"flood","version":"1"}}}\n')
readline()
p.stdin.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
requests = [b'{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"echo","arguments":{"text":"ping"}}}\n' % i
            for i in range(1, n + 1)]
latencies = []
start = time.perf_counter()
if seq:
    for request in requests:
        sent = time.perf_counter()
        p.stdin.write(request)
        readline()
        latencies.append(time.perf_counter() - sent)
else:
    writer = threading.Thread(target=lambda: p.stdin.write(b''.join(requests)))
    writer.start()
    for _ in range(n):
        readline()
    writer.join()
elapsed = time.perf_counter() - start

cpu, switches = {}, {}
if not direct:
    time.sleep(0.3)  # the history catches up
    for tid in os.listdir(f'/proc/{p.pid}/task'):
        try:
            name = open(f'/proc/{p.pid}/task/{tid}/comm').read().strip()
            ns = int(open(f'/proc/{p.pid}/task/{tid}/schedstat').read().split()[0])
            status = open(f'/proc/{p.pid}/task/{tid}/status').read()
        except OSError:
            continue
        name = 'sqlx' if name.startswith('sqlx') else name
        cpu[name] = cpu.get(name, 0) + ns
        switches[name] = switches.get(name, 0) + sum(
            int(line.split()[1]) for line in status.splitlines() if 'ctxt_switches' in line)
p.stdin.close()
p.wait()

report = f'{"direct" if direct else "firewall"} n={n} {elapsed * 1000:.0f} ms {n / elapsed:.0f} msg/s'
if seq:
    latencies.sort()
    report += f' p50={latencies[len(latencies) // 2] * 1e6:.0f}us p99={latencies[len(latencies) * 99 // 100] * 1e6:.0f}us'
if not direct:
    db = next((os.path.join(root, f) for root, _, files in os.walk(home) for f in files if f.endswith('.db')), None)
    if db:
        report += f' echo_events={sqlite3.connect(db).execute("SELECT count(*) FROM events WHERE tool = ?", ("echo",)).fetchone()[0]}'
    by = lambda d, scale: ' '.join(f'{k}={v / n / scale:.2f}' for k, v in sorted(d.items(), key=lambda kv: -kv[1]) if v / n / scale >= 0.01)
    report += f' cpu/msg={sum(cpu.values()) / n / 1000:.1f}us [{by(cpu, 1000)} us]'
    report += f' switches/msg={sum(switches.values()) / n:.2f} [{by(switches, 1)}]'
print(report)
