"""Command line: ``python -m sandbox --host 127.0.0.1 --port 8700 [--demo] [options]``.

Demo component credentials come from ``--component-*`` flags or the environment (see ``sandbox.demo``);
nothing credential-like is built in.
"""

from __future__ import annotations

import argparse
import logging

from .options import SandboxOptions
from .server import serve_forever


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m sandbox", description="WeChat third-party platform emulator")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8700)
    p.add_argument("--ticket-interval", "--push-interval", dest="ticket_interval", type=float, default=600.0,
                   help="sandbox seconds between component_verify_ticket pushes (default 600)")
    p.add_argument("--state-file", help="JSON file to load at start and save while running")
    p.add_argument("--clock-speed", type=float, default=1.0, help="sandbox seconds per real second")
    p.add_argument("--audit-delay", type=float, default=60.0, help="sandbox seconds until audits decide")
    p.add_argument("--privacy-scan-seconds", type=float, default=30.0)
    p.add_argument("--push-timeout", type=float, default=5.0)
    p.add_argument("--push-retries", type=int, default=3)
    p.add_argument("--rotate-refresh-tokens", action="store_true")
    p.add_argument("--daily-quota", type=int, default=100000, help="default daily calls per endpoint")
    p.add_argument("--demo", action="store_true", help="install demo accounts (and the demo component)")
    p.add_argument("--component-appid")
    p.add_argument("--component-secret")
    p.add_argument("--component-token")
    p.add_argument("--component-aes-key")
    p.add_argument("--auth-event-url")
    p.add_argument("--message-url", help="must contain the literal $APPID$")
    p.add_argument("--authorized-domain", action="append", dest="authorized_domains",
                   help="授权发起页域名: where the authorization page may send the browser back")
    p.add_argument("--server-domain", action="append", dest="server_domains",
                   help="the platform's server and business domains (default: the authorized domains); "
                        "WeChat refuses IP addresses there, so a demo needs a name such as demo.localhost")
    p.add_argument("--verbose", action="store_true", help="log every request")
    return p.parse_args(argv)


def options_from_args(args: argparse.Namespace) -> SandboxOptions:
    demo_component = {"component_appid": args.component_appid, "component_appsecret": args.component_secret,
                      "token": args.component_token, "encoding_aes_key": args.component_aes_key,
                      "auth_event_url": args.auth_event_url, "message_url": args.message_url,
                      "authorized_domains": args.authorized_domains,
                      "server_domains": args.server_domains, "webview_domains": args.server_domains}
    return SandboxOptions(ticket_interval=args.ticket_interval, state_file=args.state_file,
                          clock_speed=args.clock_speed, audit_delay=args.audit_delay,
                          privacy_scan_seconds=args.privacy_scan_seconds, push_timeout=args.push_timeout,
                          push_retries=args.push_retries, rotate_refresh_tokens=args.rotate_refresh_tokens,
                          default_daily_quota=args.daily_quota, demo=args.demo,
                          demo_component={k: v for k, v in demo_component.items() if v},
                          quiet=not args.verbose)


def main(argv=None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    print(f"WeChat sandbox listening on http://{args.host}:{args.port}  (control page: /sandbox/)", flush=True)
    serve_forever(args.host, args.port, options_from_args(args))


if __name__ == "__main__":
    main()
