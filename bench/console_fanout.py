"""Console fan-out latency: N connected agent clients (python-socketio), inbound messages at R/s
through Twilio's signed SMS webhook (or ``--via api``: the REST ingest endpoint); latency from the
webhook being accepted to each client receiving the ``message.created`` event, p50/p95/p99. One
node, then two nodes through a real redis-server (clients split across the nodes, webhooks
alternating between them, so half the hops cross Redis).

    python bench/console_fanout.py [--clients 500] [--rate 50] [--seconds 10] [--procs 2] [--flush-ms 0,40]
                                   [--via twilio|api] [--loops asyncio,uvloop] [--client-loop uvloop]
                                   [--trees before=/tmp/base,after=.] [--rounds 2]

One node is measured once per ``--flush-ms`` value (BERRY_CONSOLE_FLUSH_MS) and ``--loops`` value
(BERRY_EVENT_LOOP), side by side in one run. ``--trees`` runs the hub nodes from other source
trees (e.g. a ``git archive`` of the commit before a change), interleaved round by round with the
same clients, FerretDB and Redis: a before/after in one run. Besides latency, the CPU seconds the
hub, FerretDB and client processes spent from the first webhook to the end of the drain, per
message (on a shared machine that figure does not depend on the load, latency does), and the store
commands per message as FerretDB counted them (``serverStatus``). Prints one JSON line. Starts its
own FerretDB, redis-server and hub processes (``python -m hub serve``) on free ports; clients run
in ``--procs`` worker processes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import socketio  # noqa: E402

from hub.auth import Users  # noqa: E402
from hub.models import Role, new_id  # noqa: E402
from hub.store import EmbeddedFerretDB, Store  # noqa: E402
from tests.integration.agent_console.nodes import HubNode, RedisServer  # noqa: E402

PASSWORD = "bench password 123"


HANDSHAKE = {"ismaster", "hello", "ping", "endSessions", "serverStatus", "buildInfo", "buildinfo"}


def store_commands(url: str) -> dict[str, int]:
    """Commands FerretDB has answered so far, by name (handshakes and pings left out)."""
    from pymongo import MongoClient

    client: MongoClient[dict[str, Any]] = MongoClient(url, serverSelectionTimeoutMS=5000)
    try:
        counts = client.admin.command("serverStatus").get("metrics", {}).get("commands", {})
        return {name: int(c.get("total", 0)) for name, c in counts.items() if name not in HANDSHAKE}
    finally:
        client.close()


def client_proc(
    urls: list[str], count: int, token: str, ready: Any, stop: Any, out: Any, deflate: bool, loop: str
) -> None:
    # the clients stand in for browsers on other machines: the load generator should not be what
    # the shared cores spend most on (uvloop), but they stay python-socketio clients
    factory = None
    if loop == "uvloop":
        import uvloop

        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(_clients(urls, count, token, ready, stop, out, deflate))


async def _clients(
    urls: list[str], count: int, token: str, ready: Any, stop: Any, out: Any, deflate: bool
) -> None:
    # Browsers offer permessage-deflate; aiohttp's client (python-socketio's) does not unless asked.
    ws_options = {"compress": 15} if deflate else {}
    received: list[tuple[str, float]] = []
    clients = []
    for i in range(count):
        sio = socketio.AsyncClient(reconnection=False, websocket_extra_options=ws_options)

        async def on_event(envelope: dict[str, Any]) -> None:
            if envelope["name"] == "message.created":
                text = envelope["data"]["message"]["text"]
                if text.startswith("bench:"):
                    received.append((text, time.time()))

        async def on_events(envelopes: list[dict[str, Any]]) -> None:
            for envelope in envelopes:
                await on_event(envelope)

        sio.on("event", on_event, namespace="/agents")
        sio.on("events", on_events, namespace="/agents")
        await sio.connect(
            urls[i % len(urls)],
            namespaces=["/agents"],
            auth={"token": token},
            transports=["websocket"],
            wait_timeout=30,
        )
        clients.append(sio)
    ready.set()
    while not stop.is_set():  # noqa: ASYNC110 - a process-shared event has no asyncio wait
        await asyncio.sleep(0.1)
    for sio in clients:
        await sio.disconnect()
    out.send(received)


async def _token(node: HubNode, email: str) -> str:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{node.url}/api/v1/auth/login", json={"email": email, "password": PASSWORD}) as r,
    ):
        return str((await r.json())["access_token"])


TWILIO = {"BERRY_TWILIO_ACCOUNT_SID": "AC" + "b" * 32, "BERRY_TWILIO_AUTH_TOKEN": "bench-auth-token",
          "BERRY_TWILIO_SMS_FROM": "+27870000000"}


async def _send(
    nodes: list[HubNode], admin: str, rate: float, seconds: float, prefix: str = "bench", via: str = "twilio"
) -> dict[str, tuple[float, float]]:
    """``via`` twilio: Twilio's signed SMS webhook, as Twilio sends it (form body, X-Twilio-Signature
    over the node's public URL), accepted = its 200 TwiML answer; api: ``POST /api/v1/inbound`` with
    an admin's token (JWT check and audit record on top of the ingest), accepted = 201."""
    from twilio.request_validator import RequestValidator

    sent: dict[str, tuple[float, float]] = {}
    total = int(rate * seconds)
    validator = RequestValidator(TWILIO["BERRY_TWILIO_AUTH_TOKEN"])
    auth = {"Authorization": f"Bearer {admin}"} if via == "api" else {}
    async with aiohttp.ClientSession(headers=auth) as http:

        async def one(i: int) -> None:
            key = f"{prefix}:{i}:{new_id()}"
            sender = f"+2782{i % 50:07d}"
            node = nodes[i % len(nodes)]
            start = time.time()
            if via == "api":
                body = {"channel": "sms", "external_id": key, "sender": {"kind": "phone", "value": sender},
                        "text": key}
                request = http.post(f"{node.url}/api/v1/inbound", json=body)
            else:
                url = f"{node.url}/webhooks/twilio/sms"
                sid = "SM" + new_id() + "a" * 8  # 32 hex digits
                form = {"MessageSid": sid, "AccountSid": TWILIO["BERRY_TWILIO_ACCOUNT_SID"],
                        "From": sender, "To": TWILIO["BERRY_TWILIO_SMS_FROM"], "Body": key, "NumMedia": "0"}
                headers = {"X-Twilio-Signature": validator.compute_signature(url, form)}
                request = http.post(url, data=form, headers=headers)
            async with request as r:
                await r.read()
                if r.status in (200, 201):
                    sent[key] = (start, time.time())

        begin = time.monotonic()
        tasks = []
        for i in range(total):
            await asyncio.sleep(max(0.0, begin + i / rate - time.monotonic()))
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
    return sent


def start_node(name: str, workdir: Path, store_url: str, db: str, redis_url: str | None,
               env: dict[str, str], profile: Path | None = None) -> HubNode:
    """A hub node with the Twilio SMS channel configured; its public URL is its own address, the
    one the bench's webhook signatures cover."""
    node = HubNode(name, workdir, store_url, db, redis_url, profile=profile, env={**env, **TWILIO})
    node.env["BERRY_PUBLIC_URL"] = node.url
    return node.start()


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def settle(nodes: list[HubNode], limit_s: float = 180) -> float:
    """Wait until the nodes are idle (< 15% CPU over a second): a fresh node warms models in a
    thread for a while, which is start-up cost, not fan-out latency."""
    cpu = cpu_s
    began = time.monotonic()
    while time.monotonic() - began < limit_s:
        before = [cpu(n.proc.pid) for n in nodes if n.proc]
        time.sleep(1)
        if all(cpu(n.proc.pid) - b < 0.15 for n, b in zip(nodes, before, strict=True) if n.proc):
            break
    return round(time.monotonic() - began, 1)


def idle(pids: list[int], ferret_pid: int | None, store_url: str, seconds: float) -> dict[str, float]:
    """Per second, with the clients connected and no message arriving."""
    commands, hub, ferret = (
        store_commands(store_url),
        sum(map(cpu_s, pids)),
        cpu_s(ferret_pid) if ferret_pid else 0,
    )
    time.sleep(seconds)
    commands_after = store_commands(store_url)
    return {
        "hub_cpu_ms": round(1000 * (sum(map(cpu_s, pids)) - hub) / seconds, 1),
        "ferretdb_cpu_ms": round(1000 * ((cpu_s(ferret_pid) if ferret_pid else 0) - ferret) / seconds, 1),
        "store_commands": round(sum(v - commands.get(k, 0) for k, v in commands_after.items()) / seconds, 2),
    }


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return round(values[min(len(values) - 1, int(p / 100 * len(values)))] * 1000, 1)


def run(
    label: str,
    nodes: list[HubNode],
    store_url: str,
    db: str,
    args: argparse.Namespace,
    ferret_pid: int | None = None,
) -> dict[str, Any]:  # noqa: PLR0915 - one measured scenario
    async def users() -> tuple[str, str]:
        store = Store.connect(store_url, db)
        admin_email, agent_email = f"admin-{new_id()}@example.com", f"agent-{new_id()}@example.com"
        await Users(store).create(admin_email, PASSWORD, Role.admin, name="Bench admin")
        await Users(store).create(agent_email, PASSWORD, Role.agent, name="Bench agent")
        await store.close()
        return await _token(nodes[0], admin_email), await _token(nodes[0], agent_email)

    warmup_s = settle(nodes)
    admin, agent = asyncio.run(users())
    ctx = mp.get_context("spawn")
    stop = ctx.Event()
    procs, pipes, readies = [], [], []
    per = [
        args.clients // args.procs + (1 if i < args.clients % args.procs else 0) for i in range(args.procs)
    ]
    t_connect = time.time()
    for i, count in enumerate(per):
        ready, (rx, tx) = ctx.Event(), ctx.Pipe(duplex=False)
        # each process spreads its clients over the nodes
        urls = [n.url for n in nodes[i % len(nodes) :] + nodes[: i % len(nodes)]]
        p = ctx.Process(
            target=client_proc, args=(urls, count, agent, ready, stop, tx, args.deflate, args.client_loop),
            daemon=True,
        )
        p.start()
        procs.append(p), pipes.append(rx), readies.append(ready)
    for ready in readies:
        if not ready.wait(300):
            raise RuntimeError("clients did not connect")
    connect_s = time.time() - t_connect
    pids = [n.proc.pid for n in nodes if n.proc]
    client_pids = [p.pid for p in procs if p.pid]
    # One message from each of the 50 senders first, unmeasured (clients ignore "warm:"): the
    # measured messages land on existing tickets, as most do, not on a burst of 50 new ones
    # (opening 50 tickets at once walks ticket-number claims, ~3,000 inserts in one run)
    asyncio.run(_send(nodes, admin, args.rate, 50 / args.rate, prefix="warm", via=args.via))
    settle(nodes)  # a loaded node is still working through them after their 201s
    background = idle(pids, ferret_pid, store_url, args.idle)
    commands = store_commands(store_url)
    began = time.monotonic()
    hub_cpu, ferret_cpu, load_before = (
        sum(map(cpu_s, pids)),
        cpu_s(ferret_pid) if ferret_pid else 0.0,
        _load(),
    )
    client_cpu = sum(map(cpu_s, client_pids))
    sent = asyncio.run(_send(nodes, admin, args.rate, args.seconds, via=args.via))
    time.sleep(args.drain)
    hub_cpu, ferret_cpu = (
        sum(map(cpu_s, pids)) - hub_cpu,
        (cpu_s(ferret_pid) - ferret_cpu) if ferret_pid else 0.0,
    )
    client_cpu = sum(map(cpu_s, client_pids)) - client_cpu
    window_s = time.monotonic() - began
    commands = {
        k: v - commands.get(k, 0) for k, v in store_commands(store_url).items() if v - commands.get(k, 0) > 0
    }
    load_after = _load()
    stop.set()
    received = [item for rx in pipes for item in rx.recv()]
    for p in procs:
        p.join(30)
    from_accept, from_request = [], []
    for key, at in received:
        if key in sent:
            start, accepted = sent[key]
            from_request.append(at - start)
            from_accept.append(max(0.0, at - accepted))
    expected = len(sent) * args.clients
    return {
        "setup": label,
        "clients": args.clients,
        "nodes": len(nodes),
        "messages": len(sent),
        "deliveries": len(received),
        "expected": expected,
        "lost": expected - len([1 for k, _ in received if k in sent]),
        "connect_s": round(connect_s, 1),
        "warmup_s": warmup_s,
        "accept_to_event_ms": {
            "p50": pct(from_accept, 50),
            "p95": pct(from_accept, 95),
            "p99": pct(from_accept, 99),
            "max": pct(from_accept, 100),
        },
        "request_to_event_ms": {"p50": pct(from_request, 50), "p99": pct(from_request, 99)},
        "accept_ms": {
            "p50": pct([a - s for s, a in sent.values()], 50),
            "p99": pct([a - s for s, a in sent.values()], 99),
        },
        "hub_cpu_ms_per_message": round(1000 * hub_cpu / max(1, len(sent)), 1),
        "ferretdb_cpu_ms_per_message": round(1000 * ferret_cpu / max(1, len(sent)), 1),
        "client_cpu_ms_per_message": round(1000 * client_cpu / max(1, len(sent)), 1),
        "store_commands_per_message": round(sum(commands.values()) / max(1, len(sent)), 2),
        "store_commands": {k: round(v / max(1, len(sent)), 2) for k, v in sorted(commands.items())},
        # what the nodes do with nothing arriving (presence sweeps, timers), and the figures above
        # without it: a saturated run stretches the window, and the background with it
        "background_per_s": background,
        "window_s": round(window_s, 1),
        "net_per_message": {
            "hub_cpu_ms": round(
                (1000 * hub_cpu - background["hub_cpu_ms"] * window_s) / max(1, len(sent)), 1
            ),
            "ferretdb_cpu_ms": round(
                (1000 * ferret_cpu - background["ferretdb_cpu_ms"] * window_s) / max(1, len(sent)), 1
            ),
            "store_commands": round(
                (sum(commands.values()) - background["store_commands"] * window_s) / max(1, len(sent)), 2
            ),
        },
        "loadavg": [load_before, load_after],
    }


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--drain", type=float, default=5, help="seconds to wait for late events")
    parser.add_argument("--idle", type=float, default=5, help="seconds measured with no traffic (background)")
    parser.add_argument("--only", choices=["one", "two"], default=None)
    parser.add_argument(
        "--deflate", action="store_true", help="clients offer permessage-deflate, as browsers do"
    )
    parser.add_argument("--profile", type=Path, default=None, help="cProfile the one node into this file")
    parser.add_argument(
        "--via", choices=["twilio", "api"], default="twilio",
        help="inbound path: signed Twilio SMS webhook or REST API",
    )
    parser.add_argument(
        "--loops", default="uvloop", help="comma-separated BERRY_EVENT_LOOP values (one node)"
    )
    parser.add_argument(
        "--client-loop", choices=["uvloop", "asyncio"], default="uvloop",
        help="the client processes' event loop",
    )
    parser.add_argument(
        "--flush-ms", default="40", help="comma-separated BERRY_CONSOLE_FLUSH_MS values (one node)"
    )
    parser.add_argument(
        "--trees",
        default=f"this={ROOT}",
        help="comma-separated label=path source trees the hub nodes run from (interleaved)",
    )
    parser.add_argument("--rounds", type=int, default=1, help="repeat every setup, interleaved")
    args = parser.parse_args()
    trees = [
        (label, str(Path(path).resolve()))
        for label, _, path in (t.partition("=") for t in args.trees.split(","))
    ]
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    results = []
    with tempfile.TemporaryDirectory(prefix="berry-bench-") as tmp:
        base = Path(tmp)
        ferret = EmbeddedFerretDB(base / "ferretdb")
        ferret.start()

        def ferret_pid() -> int | None:
            return ferret.process.pid if ferret.process else None

        redis = RedisServer(base / "redis").start()
        try:
            for round_ in range(args.rounds):
                for tree, path in trees:
                    meta = {
                        "tree": tree,
                        "round": round_ + 1,
                        "deflate": args.deflate,
                        "client_loop": args.client_loop,
                        "via": args.via,
                    }
                    env = {"PYTHONPATH": path}  # the node's code: this tree or a snapshot to compare with
                    one_node = [(f, lp) for f in args.flush_ms.split(",") for lp in args.loops.split(",")]
                    for flush_ms, loop in one_node if args.only in (None, "one") else []:
                        db = f"bench1_{new_id()}"
                        node = start_node(
                            f"one-{flush_ms}-{loop}",
                            base / f"one-{flush_ms}-{loop}-{tree}-{round_}",
                            ferret.url,
                            db,
                            None,
                            {**env, "BERRY_CONSOLE_FLUSH_MS": flush_ms, "BERRY_EVENT_LOOP": loop},
                            profile=args.profile,
                        )
                        try:
                            results.append(
                                {
                                    **run("one node", [node], ferret.url, db, args, ferret_pid()),
                                    "flush_ms": flush_ms,
                                    "loop": loop,
                                    **meta,
                                }
                            )
                            print(json.dumps(results[-1]), file=sys.stderr)
                        finally:
                            node.stop()
                    if args.only in (None, "two"):
                        db = f"bench2_{new_id()}"
                        a = start_node("a", base / f"a-{tree}-{round_}", ferret.url, db, redis.url, env)
                        b = start_node("b", base / f"b-{tree}-{round_}", ferret.url, db, redis.url, env)
                        try:
                            results.append(
                                {
                                    **run("two nodes + redis", [a, b], ferret.url, db, args, ferret_pid()),
                                    **meta,
                                }
                            )
                            print(json.dumps(results[-1]), file=sys.stderr)
                        finally:
                            a.stop()
                            b.stop()
        finally:
            redis.stop()
            ferret.stop()
    print(
        json.dumps(
            {
                "bench": "console_fanout",
                "rate_per_s": args.rate,
                "seconds": args.seconds,
                "client_procs": args.procs,
                "results": results,
            }
        )
    )


if __name__ == "__main__":
    main()
