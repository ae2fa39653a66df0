"""Sync throughput as users run it (issue 20): two `memoryd serve` processes and a
`memory-hub serve` process on a loopback port over a throwaway PostgreSQL (tests/pg.py).

1. N memories are imported on A through its socket (the CLI's way: batches of 500), then a
   sync is triggered on A (push) and on B (pull), and B's recall is polled over its socket
   until the last memory is found: "written on A -> recallable on B".
2. 8 replicas push at once straight to the hub (pre-built pages, one HTTP client each):
   ingest ops/s and push latency percentiles.
3. A fresh daemon C joins and pulls everything the hub holds: the join's wall time, from
   `memoryd serve` started to its cursor at the hub's head and the last memory recallable.

    PYTHONPATH=. .venv/bin/python bench/sync_e2e.py [--memories 10000] [--join 100000]
        [--pushers 8] [--semantic] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx

from bench._corpus import machine, percentile, sentences
from memory_core.hlc import pack
from memory_core.ids import uuid7
from memory_core.wire.sync import MAX_PUSH_BYTES, MAX_PUSH_OPS, PUSH_PATH, ops_that_fit, push_body
from memoryd.sync.envelope import build_op
from tests.hubs import KEYS, hub_env
from tests.pg import PgCluster, create_database, pg_cluster
from tests.support import REPO, Daemon, HubServer, wait_until
from tests.sync.processes import synced_daemon

IMPORT_BATCH = 500  # what `memory import` sends per request


class CpuMeter:
    """CPU seconds used by the processes of a run (the hub, each daemon, PostgreSQL's server
    processes): on a shared, loaded machine wall times swing with the load, CPU time much
    less, so each phase reports both."""

    def __init__(self) -> None:
        self.roots: dict[str, tuple[int, bool]] = {}  # name -> pid, with its descendants?
        self.tick = os.sysconf("SC_CLK_TCK")

    def _tree(self, root: int) -> list[int]:
        parents: dict[int, int] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        found, frontier = [root], [root]
        while frontier:
            frontier = [pid for pid, parent in parents.items() if parent in frontier]
            found += frontier
        return found

    def _cpu(self, pid: int) -> float:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / self.tick

    def sample(self) -> dict[str, float]:
        return {
            name: sum(self._cpu(pid) for pid in (self._tree(root) if tree else [root]))
            for name, (root, tree) in self.roots.items()
        }

    @staticmethod
    def spent(before: dict[str, float], after: dict[str, float]) -> str:
        parts = [f"{name} {after[name] - before.get(name, 0.0):.2f}" for name in after]
        return "CPU s: " + ", ".join(parts)


def content(n: int, text: str) -> str:
    return f"{text} marker{n}"


@contextmanager
def hub_process(cluster: PgCluster, code: Path) -> Iterator[HubServer]:
    """`memory-hub serve` from the code in `code` on a fresh database (it migrates it)."""
    dsn = asyncio.run(create_database(cluster, f"bench_{secrets.token_hex(4)}"))
    # The per-user write rate (20,000 ops a minute by default) would throttle a 100k join's
    # seeding; the bench measures throughput, not the limiter.
    hub = HubServer(hub_env(dsn, HUB_USER_OPS_PER_MINUTE="0"), cwd=code)
    try:
        yield hub.start()
    finally:
        hub.stop()


def daemon(hub: HubServer, semantic: bool) -> Daemon:
    # The background loop stays out of the measured window: sync is triggered by hand.
    return synced_daemon(
        hub,
        cwd=hub.cwd,
        MEMORY_SYNC_DEBOUNCE="3600",
        MEMORY_SEMANTIC="1" if semantic else "0",
    )


def started_round_done(client: httpx.Client) -> bool:
    status = client.get("/api/sync/status").json()
    return status.get("last_pull_ms") is not None


def recalls(client: httpx.Client, n: int) -> bool:
    answer = client.post("/api/memories/recall", json={"context": f"marker{n}", "limit": 3})
    assert answer.status_code == 200, answer.text
    return any(m["content"].endswith(f" marker{n}") for m in answer.json()["memories"])


def sync(client: httpx.Client) -> dict[str, Any]:
    answer = client.post("/api/sync")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    assert body["ok"], body
    return body


class Phases:
    """Each phase's wall time, ops/s and CPU seconds by process, printed as it ends."""

    def __init__(self, meter: CpuMeter) -> None:
        self.meter = meter
        self.began = time.perf_counter()
        self.cpu = meter.sample()

    def end(self, label: str, ops: int = 0) -> float:
        now, cpu = time.perf_counter(), self.meter.sample()
        took = now - self.began
        rate = f"{ops / took:7.0f} ops/s" if ops else " " * 13
        print(f"{label:<36} {took:6.2f} s {rate}  {CpuMeter.spent(self.cpu, cpu)}")
        self.began, self.cpu = now, cpu
        return took


def write_then_recall(
    hub: HubServer, n: int, semantic: bool, stack: ExitStack, meter: CpuMeter
) -> None:
    a, b = daemon(hub, semantic), daemon(hub, semantic)
    stack.callback(a.stop)
    stack.callback(b.stop)
    for name, proc in (("A", a.proc), ("B", b.proc)):
        assert proc is not None
        meter.roots[name] = (proc.pid, False)
    ca, cb = a.client(timeout=120), b.client(timeout=120)
    wait_until(lambda: started_round_done(ca) and started_round_done(cb), 30, "start-up rounds")
    items = [
        {"content": content(i, text), "tags": ["bench"], "importance": 0.5}
        for i, text in enumerate(sentences(n))
    ]
    print(f"## {n} memories imported on A, recallable on B   ({machine()})")
    phases = Phases(meter)
    for first in range(0, n, IMPORT_BATCH):
        answer = ca.post("/api/memories/import", json=items[first : first + IMPORT_BATCH])
        assert answer.status_code == 200, answer.text
    imported = phases.end(f"import on A ({IMPORT_BATCH} per request)", n)
    pushed = sync(ca)
    took = phases.end("sync on A (push; its own ops not pulled)", n)
    pulled = sync(cb)
    took += phases.end("sync on B (pull + apply)", n)
    wait_until(lambda: recalls(cb, n - 1), 120, "the last memory recallable on B", 0.01)
    took += phases.end("then recallable on B")
    assert pushed["pushed"] == n and pulled["applied"] == n, (pushed, pulled)
    print(f"import answered -> recallable on B   {took:6.2f} s")
    print(f"import started  -> recallable on B   {took + imported:6.2f} s")


def pages_for(replica: int, count: int, first_n: int, page_ops: int = MAX_PUSH_OPS) -> list[bytes]:
    """`count` creations from one synthetic replica as push bodies, sized as memoryd sizes
    them (`page_ops` ops, MAX_PUSH_BYTES bytes)."""
    replica_id = secrets.token_hex(16)
    now = int(time.time() * 1000)
    texts = sentences(count, seed=100 + replica)
    ops = []
    for i, text in enumerate(texts):
        n = first_n + i
        fields = {
            "category": "facts",
            "content": content(n, text),
            "expanded_keywords": "",
            "importance": 0.5,
            "is_sensitive": False,
            "project": None,
            "source": "import",
            "tags": ["bench"],
            "created_ms": now,
        }
        hlc = pack(now, i)
        op = build_op(
            replica_id=replica_id,
            replica_seq=i + 1,
            op_id=uuid7(now),
            entity_id=uuid7(now),
            hlc=hlc,
            kind="put",
            plain=fields,
            secret={},
            cipher=None,
        )
        ops.append(op.model_dump_json())
    pages = []
    while ops:
        fit = ops_that_fit([len(o.encode()) for o in ops[:page_ops]], MAX_PUSH_BYTES)
        page, ops = ops[:fit], ops[fit:]
        pages.append(push_body(replica_id, page))
    return pages


async def push_all(url: str, pages: list[bytes], latencies: list[float]) -> int:
    headers = {"authorization": f"Bearer {KEYS['alice']}", "content-type": "application/json"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120) as client:
        head = 0
        for body in pages:
            began = time.perf_counter()
            answer = await client.post(PUSH_PATH, content=body)
            latencies.append((time.perf_counter() - began) * 1000)
            assert answer.status_code == 200, answer.text[:300]
            head = max(head, int(answer.json()["head_seq"]))
        return head


def ingest(
    hub: HubServer, pushers: int, total: int, first_n: int, meter: CpuMeter, page_ops: int
) -> None:
    each = total // pushers
    bodies = [pages_for(r, each, first_n + r * each, page_ops) for r in range(pushers)]
    latencies: list[float] = []

    async def run() -> None:
        await asyncio.gather(*(push_all(hub.url, pages, latencies) for pages in bodies))

    print(f"## hub ingest: {pushers} replicas push {each} ops each at once   ({machine()})")
    phases = Phases(meter)
    asyncio.run(run())
    phases.end(f"{pushers * each} ops pushed", pushers * each)
    print(
        f"push latency p50 {percentile(latencies, 50):.0f} ms, p95 "
        f"{percentile(latencies, 95):.0f} ms, max {max(latencies):.0f} ms "
        f"({len(latencies)} pushes)"
    )


def join(hub: HubServer, expected: int, semantic: bool, stack: ExitStack, meter: CpuMeter) -> None:
    head = hub.client(KEYS["alice"]).get("/api/stats").json()["head_seq"]
    print(f"## a new replica joins: {expected} memories on the hub   ({machine()})")
    phases = Phases(meter)
    c = daemon(hub, semantic)  # its start-up round pulls everything
    stack.callback(c.stop)
    assert c.proc is not None
    meter.roots["C"] = (c.proc.pid, False)
    took = phases.end("memoryd serve -> socket up")
    cc = c.client(timeout=120)

    def caught_up() -> bool:
        cursor: int = cc.get("/api/sync/status").json()["cursor"]
        return cursor >= int(head)

    wait_until(caught_up, 600, "the joining replica's cursor at the hub's head", 0.02)
    took += phases.end("-> cursor at the hub's head", expected)
    wait_until(lambda: recalls(cc, expected - 1), 120, "the last memory recallable on C", 0.01)
    took += phases.end("-> last memory recallable on C")
    print(f"start -> recallable on C   {took:6.2f} s ({expected / took:.0f} ops/s)")


def leg(cluster: PgCluster, code: Path, args: argparse.Namespace, page_ops: int) -> None:
    print(f"# code: {code}")
    meter = CpuMeter()
    postmaster = int((cluster.data_dir / "postmaster.pid").read_text().split()[0])
    meter.roots["pg"] = (postmaster, True)
    with hub_process(cluster, code) as hub, ExitStack() as stack:
        assert hub.proc is not None
        meter.roots["hub"] = (hub.proc.pid, False)
        meter.roots["bench"] = (os.getpid(), False)
        write_then_recall(hub, args.memories, args.semantic, stack, meter)
        if args.join > args.memories:
            ingest(hub, args.pushers, args.join - args.memories, args.memories, meter, page_ops)
            join(hub, args.join, args.semantic, stack, meter)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memories", type=int, default=10_000)
    parser.add_argument("--join", type=int, default=100_000, help="0: no join")
    parser.add_argument("--pushers", type=int, default=8)
    parser.add_argument("--semantic", action="store_true", help="daemons with MEMORY_SEMANTIC=1")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="a checkout of other code (`git archive main | tar -x -C DIR`) run first, on "
        "the same cluster, for before/after ratios in one run",
    )
    parser.add_argument(
        "--baseline-push-ops",
        type=int,
        default=500,
        help="ops per push page the baseline's hub accepts (500 before issue 20)",
    )
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with pg_cluster() as cluster:
        if args.baseline:
            leg(cluster, args.baseline.resolve(), args, args.baseline_push_ops)
        leg(cluster, REPO, args, MAX_PUSH_OPS)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
