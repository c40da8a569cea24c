"""``python -m scim_bridge.simulator``: run the simulator in the foreground (same options as the CLI)."""

from __future__ import annotations

import argparse
import sys

from scim_bridge.simulator.config import SimulatorConfig
from scim_bridge.simulator.server import SimulatorServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scim_bridge.simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--api-key", default="sim-key")
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--rate-limit", action="append", default=[], metavar="DOMAIN=PER_SEC/PER_MIN")
    parser.add_argument("--fail-rate", type=float, default=0.0)
    parser.add_argument("--seed", default=None, help='"demo" loads the demo directory')
    args = parser.parse_args(argv)
    try:
        config = SimulatorConfig.from_cli(
            args.api_key, args.latency_ms, args.rate_limit, args.fail_rate, args.seed
        )
    except ValueError as exc:
        parser.error(str(exc))
    server = SimulatorServer(config, host=args.host, port=args.port, log_requests=True)
    print(f"OpsGenie simulator on {server.base_url} (GenieKey {args.api_key})", file=sys.stderr)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
