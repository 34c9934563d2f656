"""Channel benchmarks, one JSON line:

* signed Twilio SMS webhooks per second end to end (HTTP → signature → spool → ingest → FerretDB)
  with p50/p99 latency, and in the same run the ingest-only rate (``Inbox.ingest`` directly):
  the adapter's overhead is 1 - webhook rate / ingest rate (target < 20 %), the median over many
  interleaved rounds (ABBA order) with its quartiles, since the machine may be shared. The webhook
  load comes from a client in a **separate process** (``--client``, started by the bench), as
  Twilio's would: its HTTP parsing and signing are not charged to the hub's event loop;
* outbox sends per second: stored replies sent by the outbox jobs through the ``twilio`` SDK's
  async client to the local Twilio stand-in.

Usage: python -P bench/channels.py [--n 100] [--concurrency 8] [--rounds 16]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from twilio.request_validator import RequestValidator

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from hub import keys  # noqa: E402
from hub.app import create_app  # noqa: E402
from hub.auth import Principal  # noqa: E402
from hub.jobs import Worker  # noqa: E402
from hub.models import Channel, IdentityKind, InboundMessage, Role  # noqa: E402
from hub.outbox import JOB_KIND  # noqa: E402
from hub.settings import Settings  # noqa: E402
from hub.store import EmbeddedFerretDB, free_port  # noqa: E402
from tests.integration.channels.standin import TwilioStandIn  # noqa: E402

SID, TOKEN, PUBLIC = "AC" + "2" * 32, "f" * 32, "https://support.berry.test"


def _form(i: int) -> dict[str, str]:
    return {"MessageSid": "SM" + secrets.token_hex(16), "AccountSid": SID, "From": f"+2782{i % 5000:07d}",
            "To": "+27600000001", "Body": f"Is the venue free on Saturday? #{i}", "NumMedia": "0"}


async def _pool(n: int, concurrency: int, one: Any) -> tuple[float, list[float]]:
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)

    async def worker() -> None:
        while not queue.empty():
            i = queue.get_nowait()
            start = time.perf_counter()
            await one(i)
            latencies.append(time.perf_counter() - start)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return n / (time.perf_counter() - start), latencies


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return round(values[min(len(values) - 1, int(p * len(values)))] * 1000, 2)


def _signed(validator: RequestValidator, i: int) -> tuple[str, dict[str, str]]:
    form = _form(i)
    return urlencode(form), {
        "X-Twilio-Signature": validator.compute_signature(PUBLIC + "/webhooks/twilio/sms", form),
        "Content-Type": "application/x-www-form-urlencoded",
    }


async def client(url: str) -> None:
    """The load client (its own process): one JSON command per stdin line, {"n", "concurrency"};
    signs n fresh forms off the clock, posts them, answers {"rate", "latencies"} on stdout."""
    validator = RequestValidator(TOKEN)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as http:
        while line := await reader.readline():
            cmd = json.loads(line)
            signed = [_signed(validator, i) for i in range(cmd["n"])]

            async def webhook(i: int) -> None:
                body, headers = signed[i]  # noqa: B023  awaited by _pool below, in this iteration
                async with http.post(url, data=body, headers=headers) as resp:
                    assert resp.status == 200, await resp.text()

            rate, latencies = await _pool(cmd["n"], cmd["concurrency"], webhook)
            sys.stdout.write(json.dumps({"rate": rate, "latencies": latencies}) + "\n")
            sys.stdout.flush()


class LoadClient:
    def __init__(self, url: str) -> None:
        self.url = url
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-P", __file__, "--client", self.url, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, limit=2**24)

    async def run(self, n: int, concurrency: int) -> tuple[float, list[float]]:
        assert self.proc and self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps({"n": n, "concurrency": concurrency}).encode() + b"\n")
        await self.proc.stdin.drain()
        line = await self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the load client died (see its stderr)")
        answer = json.loads(line)
        return answer["rate"], answer["latencies"]

    async def stop(self) -> None:
        if self.proc and self.proc.stdin:
            self.proc.stdin.close()
            await self.proc.wait()


async def main(n: int, concurrency: int, rounds: int) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="berry-bench-"))
    ferret = EmbeddedFerretDB(workdir / "ferretdb")
    await asyncio.to_thread(ferret.start)
    standin = TwilioStandIn(SID, TOKEN)
    await standin.start()
    port = free_port()
    settings = Settings(
        mongodb_url=ferret.url,
        mongodb_db="bench_channels",
        var_dir=workdir / "var",
        bot_engine="off",
        inline_worker=False,
        public_url=PUBLIC,
        twilio_account_sid=SID,
        twilio_auth_token=TOKEN,
        twilio_api_base=standin.url,
        twilio_sms_from="+27600000001",
        port=port,
        log_level="WARNING",
        _env_file=None,
    )  # type: ignore[call-arg]
    app = create_app(settings)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    validator = RequestValidator(TOKEN)
    load = LoadClient(f"http://127.0.0.1:{port}/webhooks/twilio/sms")
    await load.start()
    result: dict[str, Any] = {"bench": "channels", "n": n, "concurrency": concurrency, "rounds": rounds,
                              "client": "separate process",
                              # exempt from ASYNC240 below: a procfs read, not timed, before the load starts
                              "loadavg_start": Path("/proc/loadavg").read_text().split()[:3]}  # noqa: ASYNC240
    try:
        inbox = app[keys.INBOX]
        forms: list[dict[str, str]] = []

        async def ingest(i: int) -> None:
            form = forms[i]
            await inbox.ingest(InboundMessage(channel=Channel.sms, external_id=form["MessageSid"],
                                              sender={"kind": IdentityKind.phone, "value": form["From"]},
                                              text=form["Body"]))

        async def ingest_run(count: int) -> tuple[float, list[float]]:
            forms[:] = [_form(i) for i in range(count)]
            return await _pool(count, concurrency, ingest)

        await load.run(50, concurrency)  # warm-up: contacts, conversations, connections
        await ingest_run(50)
        # Many short rounds, each pairing an ingest-only run with a webhook run, the order alternating
        # (ABBA) so drift (a growing database, other jobs on a shared machine) hits both alike; the
        # overhead is the median of the per-round ratios, with its quartiles as the spread.
        # CPU seconds per message of the hub process and of FerretDB, per path: unlike the rates,
        # these hardly depend on how many other processes the two cores are shared with.
        web_rates, ing_rates, web_lat, ing_lat, overheads = [], [], [], [], []
        cpu: dict[str, list[float]] = {
            "webhook_hub": [],
            "webhook_ferretdb": [],
            "ingest_hub": [],
            "ingest_ferretdb": [],
        }
        pids = {"hub": os.getpid(), "ferretdb": ferret.process.pid}  # type: ignore[union-attr]
        for r in range(rounds):
            order = [("ingest", ingest_run, ing_rates, ing_lat),
                     ("webhook", lambda count: load.run(count, concurrency), web_rates, web_lat)]
            for name, run, rates, lats in order if r % 2 == 0 else order[::-1]:
                before = {k: _cpu_s(pid) for k, pid in pids.items()}
                rate, lat = await run(n)
                for k, pid in pids.items():
                    cpu[f"{name}_{k}"].append((_cpu_s(pid) - before[k]) / n)
                rates.append(rate)
                lats += lat
            overheads.append((1 - web_rates[-1] / ing_rates[-1]) * 100)
        web_rate, ing_rate = statistics.median(web_rates), statistics.median(ing_rates)
        quartiles = statistics.quantiles(overheads, n=4) if len(overheads) > 1 else [overheads[0]] * 3
        result.update(
            {
                "webhook_per_s": round(web_rate, 1),
                "webhook_p50_ms": _pct(web_lat, 0.5),
                "webhook_p99_ms": _pct(web_lat, 0.99),
                "ingest_per_s": round(ing_rate, 1),
                "ingest_p50_ms": _pct(ing_lat, 0.5),
                "ingest_p99_ms": _pct(ing_lat, 0.99),
                "adapter_overhead_pct": round(statistics.median(overheads), 1),
                "adapter_overhead_q1_q3_pct": [round(quartiles[0], 1), round(quartiles[2], 1)],
                "adapter_overhead_rounds_pct": [round(o, 1) for o in overheads],
                "cpu_ms_per_message": {k: round(sum(v) / len(v) * 1000, 2) for k, v in cpu.items()},
            }
        )
        hub_cpu = {k: sum(cpu[f"{k}_hub"]) + sum(cpu[f"{k}_ferretdb"]) for k in ("webhook", "ingest")}
        result["adapter_cpu_overhead_pct"] = round((hub_cpu["webhook"] / hub_cpu["ingest"] - 1) * 100, 1)
        # --- the adapter's own work per webhook, without HTTP or store: verify + normalize + spool ----
        services = app[keys.EXTENSIONS]["channels"]
        adapter = services.twilio[Channel.sms]
        from multidict import MultiDict

        from channels.base import RawInbound
        samples = []
        for i in range(n):
            form = _form(i)
            sig = validator.compute_signature(PUBLIC + "/webhooks/twilio/sms", form)
            start = time.perf_counter()
            raw = RawInbound(url=PUBLIC + "/webhooks/twilio/sms", headers={"X-Twilio-Signature": sig},
                             body=urlencode(form).encode(), form=MultiDict(form))
            adapter.verify(raw)
            adapter.normalize(form)
            services.spool.put(form["MessageSid"], {"channel": "sms", "form": form})
            services.spool.remove(form["MessageSid"])
            samples.append(time.perf_counter() - start)
        result.update({"adapter_only_p50_ms": _pct(samples, 0.5), "adapter_only_p99_ms": _pct(samples, 0.99)})
        # --- outbox: replies → jobs → SDK → stand-in ------------------------------------------------
        conversations = app[keys.CONVERSATIONS]
        conv = await app[keys.STORE].conversations.find_one({})
        actor = Principal(role=Role.agent, user_id="bench-agent")
        sends = n
        for i in range(sends):
            await conversations.reply(conv["_id"], actor, f"Reply {i}")
        before = len(standin.messages)
        workers = [
            Worker(app[keys.JOBS], {JOB_KIND: app[keys.JOB_HANDLERS][JOB_KIND]}) for _ in range(concurrency)
        ]

        async def drain(w: Worker) -> None:
            while await w.run_once():
                pass

        start = time.perf_counter()
        await asyncio.gather(*(drain(w) for w in workers))
        elapsed = time.perf_counter() - start
        sent = len(standin.messages) - before
        result.update({"outbox_sends": sent, "outbox_sends_per_s": round(sent / elapsed, 1),
                       # exempt from ASYNC240 below: a procfs read, after the timed section
                       "loadavg_end": Path("/proc/loadavg").read_text().split()[:3]})  # noqa: ASYNC240
    finally:
        await load.stop()
        await runner.cleanup()
        await standin.stop()
        await asyncio.to_thread(ferret.stop)
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=16)
    parser.add_argument("--client", metavar="URL", help=argparse.SUPPRESS)  # internal: be the load client
    args = parser.parse_args()
    if args.client:
        asyncio.run(client(args.client))
    else:
        print(json.dumps(asyncio.run(main(args.n, args.concurrency, args.rounds))))
