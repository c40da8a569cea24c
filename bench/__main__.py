"""``python -m bench`` (``make bench``): run the performance scenarios and print one table.

Everything runs on loopback: ``scim-bridge simulator`` upstream, ``scim-bridge serve`` (gunicorn) as the
bridge, ``scim2-server`` as the in-memory reference, and a load generator in its own process.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench import scenarios
from bench import servers
from bench.idle import idle
from bench.report import Row
from bench.report import table
from bench.servers import workdir

SCENARIOS: dict[str, Callable[[Path, scenarios.Options], scenarios.Outcome]] = {
    "throughput": scenarios.throughput,
    "economy": scenarios.economy,
    "mirror": scenarios.mirror,
    "idle": idle,
    "big-group": scenarios.big_group,
    "large": scenarios.large_directory,
}


def machine() -> str:
    free = subprocess.run(["free", "-h"], capture_output=True, text=True).stdout.strip()
    root = servers.SOURCE or Path(__file__).resolve().parent.parent
    git = subprocess.run(["git", "-C", str(root), "describe", "--always", "--dirty"], capture_output=True,
                         text=True).stdout.strip() or "not a git checkout"
    return (f"nproc: {os.cpu_count()}\npython: {platform.python_version()} ({platform.platform()})\n"
            f"code measured: {root} ({git})\nload average at start: {os.getloadavg()[0]:.2f}\nfree -h:\n{free}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", action="append", choices=sorted(SCENARIOS), help="run only these (repeatable)")
    parser.add_argument("--quick", action="store_true", help="short runs and small data, to try the harness")
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    parser.add_argument("--source", type=Path, help="run the scim_bridge package of this source tree "
                        "(e.g. `git archive` of another commit) instead of the installed one")
    parser.add_argument("--rounds", type=int, help="measured rounds of the mixed load per configuration "
                        f"(default {scenarios.Options.rounds}, each {scenarios.Options.round_seconds:.0f} s after "
                        f"{scenarios.Options.warmup_rounds} discarded warm-up round)")
    args = parser.parse_args(argv)
    if args.source is not None:
        servers.SOURCE = args.source.resolve()
    opts = scenarios.Options()
    if args.quick:
        opts = scenarios.Options(users=200, warmup=1.0, duration=4.0, rounds=2, round_seconds=3.0,
                                 profile_seconds=4.0, import_users=1000,
                                 import_teams=50, members_per_team=5, big_group=50,
                                 large_users=3000, large_teams=60)
    if args.rounds:
        opts = dataclasses.replace(opts, rounds=args.rounds)
    print(machine(), flush=True)
    rows: list[Row] = []
    texts: list[str] = []
    details: dict[str, object] = {}
    started = time.monotonic()
    with workdir() as work:
        for name in args.only or list(SCENARIOS):
            began = time.monotonic()
            print(f"\n== {name} ...", flush=True)
            outcome = SCENARIOS[name](work, opts)
            print(f"== {name}: {time.monotonic() - began:.0f} s", flush=True)
            rows += outcome.rows
            texts += outcome.text
            details[name] = outcome.details
            if "profile" in outcome.details:
                texts.append(scenarios.profile_text(outcome.details["profile"]))
    print(f"\nscim-bridge benchmark ({time.monotonic() - started:.0f} s, "
          f"load average at the end: {os.getloadavg()[0]:.2f})\n")
    print(table(rows))
    for text in texts:
        print("\n" + text)
    if args.json:
        args.json.write_text(json.dumps(details, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
