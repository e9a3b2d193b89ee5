"""Start-up benchmark: how quickly `wayfinder --help` answers and how much memory an idle bot
holds, on the console alone and with all three networks enabled. Prints a table and one JSON
line.

    python -m bench.startup [--settle 5] [--runs 5]

The networks point at loopback ports where nothing listens (127.0.0.1:9), with dummy secrets
in the environment: the adapters load their libraries and keep retrying, which is the idle
state being measured. Nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Targets from issue 14.
HELP_SECONDS, HELP_MB, CONSOLE_MB, NETWORKS_MB = 0.4, 60, 70, 110
ALL_NETWORKS = """
[adapters.irc]
enabled = true
host = "127.0.0.1"
port = 9
tls = false
sasl_account = "wayfinder"
sasl_password_env = "BENCH_IRC_PASSWORD"
connect_timeout_seconds = 2
[adapters.matrix]
enabled = true
homeserver = "http://127.0.0.1:9"
user_id = "@wayfinder:localhost"
password_env = "BENCH_MATRIX_PASSWORD"
pickle_key_env = "BENCH_MATRIX_PICKLE"
[adapters.telegram]
enabled = true
token_env = "BENCH_TELEGRAM_TOKEN"
base_url = "http://127.0.0.1:9"
request_timeout_seconds = 2
"""
DUMMY_SECRETS = {"BENCH_IRC_PASSWORD": "bench-irc-password",
                 "BENCH_MATRIX_PASSWORD": "bench-matrix-password",
                 "BENCH_MATRIX_PICKLE": "bench-matrix-pickle-key",
                 "BENCH_TELEGRAM_TOKEN": "123456:bench-telegram-token"}


def wayfinder() -> list[str]:
    script = Path(sys.executable).with_name("wayfinder")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot"]


def help_figures(runs: int) -> tuple[float, float]:
    """Median wall seconds and largest resident MB of `wayfinder --help`."""
    walls: list[float] = []
    peak_kb = 0
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.Popen([*wayfinder(), "--help"], stdout=subprocess.DEVNULL)
        _pid, status, usage = os.wait4(proc.pid, 0)
        walls.append(time.perf_counter() - start)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            raise RuntimeError(f"wayfinder --help exited with {proc.returncode}")
        peak_kb = max(peak_kb, usage.ru_maxrss)
    return statistics.median(walls), peak_kb / 1024


def resident_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def idle_mb(config: str, settle: float) -> float:
    """Resident MB of `wayfinder run` in a fresh folder, `settle` seconds after start, with
    its standard input kept open (the console waits for a line)."""
    with tempfile.TemporaryDirectory(prefix="wayfinder-startup-") as folder:
        if config:
            Path(folder, "wayfinder.toml").write_text(config, encoding="utf-8")
        proc = subprocess.Popen([*wayfinder(), "run"], cwd=folder, stdin=subprocess.PIPE,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                env={**os.environ, **DUMMY_SECRETS})
        try:
            time.sleep(settle)
            if proc.poll() is not None:
                stderr = proc.stderr.read().decode() if proc.stderr else ""
                raise RuntimeError(f"wayfinder run ended early:\n{stderr}")
            return resident_mb(proc.pid)
        finally:
            proc.terminate()
            try:
                proc.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--settle", type=float, default=5.0,
                        help="seconds after start before reading the resident size")
    parser.add_argument("--runs", type=int, default=5, help="runs of --help")
    args = parser.parse_args()
    help_seconds, help_mb = help_figures(args.runs)
    console = idle_mb("", args.settle)
    networks = idle_mb(ALL_NETWORKS, args.settle)
    rows = [("wayfinder --help: wall", f"{help_seconds:.3f} s", f"< {HELP_SECONDS} s",
             help_seconds < HELP_SECONDS),
            ("wayfinder --help: max RSS", f"{help_mb:.1f} MB", f"< {HELP_MB} MB",
             help_mb < HELP_MB),
            ("run, idle on the console: RSS", f"{console:.1f} MB", f"< {CONSOLE_MB} MB",
             console < CONSOLE_MB),
            ("run, IRC+Matrix+Telegram enabled: RSS", f"{networks:.1f} MB",
             f"< {NETWORKS_MB} MB", networks < NETWORKS_MB)]
    for name, value, target, ok in rows:
        print(f"{name:40s} {value:>10s}  target {target:9s} {'ok' if ok else 'OVER'}")
    print(json.dumps({"help_seconds": round(help_seconds, 3), "help_mb": round(help_mb, 1),
                      "console_idle_mb": round(console, 1),
                      "networks_idle_mb": round(networks, 1)}))


if __name__ == "__main__":
    main()
