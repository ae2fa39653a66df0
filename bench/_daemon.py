"""A real `memoryd serve` for the benchmarks that talk to it over its socket with httpx and
read its process figures (bench/scale_bench.py, bench/semantic_cost.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent


class ServedDaemon:
    """`memoryd serve` on `home` (its socket home/run/d.sock), with `settings` as its only
    MEMORY_* variables; the constructor returns once GET /health answers 200."""

    def __init__(self, home: Path, settings: dict[str, str], start_timeout_s: float) -> None:
        self.home = home
        self.socket = home / "run" / "d.sock"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("MEMORY_")}
        self.env.pop("XDG_RUNTIME_DIR", None)
        self.env.update(MEMORY_HOME=str(home), MEMORY_SOCKET=str(self.socket), **settings)
        started = time.perf_counter()
        # From the checkout this script belongs to (`-m` puts the working directory first on
        # sys.path), so that a run from a git worktree measures that tree's daemon.
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "memoryd", "serve"],
            env=self.env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.client = httpx.Client(
            transport=httpx.HTTPTransport(uds=str(self.socket)), base_url="http://m", timeout=60
        )
        self._wait_for_health(start_timeout_s)
        self.startup_s = time.perf_counter() - started

    def _wait_for_health(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if self.client.get("/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None:
                raise SystemExit("the daemon exited while starting")
            time.sleep(0.005)  # fine-grained: startup itself is measured
        raise SystemExit(f"the daemon did not answer /health within {timeout_s:.0f} s")

    def cpu_s(self) -> float:
        """User + system CPU the daemon has used so far: on a machine this loaded, what its
        wall times would shrink to with a core to itself."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self, timeout_s: float = 120) -> None:
        self.client.close()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout_s)
