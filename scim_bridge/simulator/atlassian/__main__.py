"""``python -m scim_bridge.simulator.atlassian``: run the Atlassian simulator in the foreground."""

from __future__ import annotations

import argparse
import sys

from scim_bridge.simulator.atlassian.config import AtlassianSimConfig
from scim_bridge.simulator.atlassian.server import AtlassianSimulatorServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scim_bridge.simulator.atlassian", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9200)
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--enable-ops-delay-ms", type=int, default=0)
    parser.add_argument("--rate-limit", type=int, default=0, help="requests per --rate-window-s (0: off)")
    parser.add_argument("--rate-window-s", type=int, default=60)
    parser.add_argument("--seed", default=None, help='"demo" loads the demo organization')
    args = parser.parse_args(argv)
    try:
        config = AtlassianSimConfig(
            seed=args.seed,
            latency_ms=args.latency_ms,
            enable_ops_delay_ms=args.enable_ops_delay_ms,
            rate_limit=args.rate_limit,
            rate_window_s=args.rate_window_s,
        )
    except ValueError as exc:
        parser.error(str(exc))
    server = AtlassianSimulatorServer(config, host=args.host, port=args.port, log_requests=True)
    print(
        f"Atlassian simulator on {server.base_url} (Basic {config.admin_email}:{config.api_token}, "
        f"Bearer {config.admin_api_key}, org {config.org_id}, cloud {config.cloud_id}, site {config.site_id})",
        file=sys.stderr,
    )
    server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
