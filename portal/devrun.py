"""`make run`: the portal with the WeChat sandbox beside it, on this machine, with no other service.

Runs in development mode (`PORTAL_ENV=development`) with keys of its own: the component credentials,
`SECRET_KEY` and `DATA_KEY` are generated once per checkout and kept in `instance/` (never committed, like
the demo logins), so no two installs share a key. Then it migrates the SQLite database, loads the demo
logins, starts the portal (threaded, jobs in process) and the sandbox (a separate process started with
`python -m sandbox`: the portal never imports it), registers the demo platform with the sandbox, makes the
demo content through both (`portal.demodata`) and prints where to go. Stop with Ctrl-C.

PORTAL_PORT, SANDBOX_PORT and PORTAL_INSTANCE_PATH (default `instance/`) let a second copy run beside the
first, as the browser test of the README tour does.
"""

import gc
import json
import logging
import os
import secrets
import signal
import string
import subprocess
import sys
import threading
import time

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INSTANCE = os.environ.get("PORTAL_INSTANCE_PATH") or os.path.join(ROOT, "instance")
# The demo platform's server and business domains, typed by merchants on the Domains tab (README "Try it").
# WeChat refuses IP addresses there; *.localhost names resolve to this machine (RFC 6761).
DEMO_SERVER_DOMAIN = "demo.localhost"


def demo_credentials():
    """Random component credentials and keys for this checkout, created on first run; a file written
    before the keys were kept there gets them added."""
    path = os.path.join(INSTANCE, "demo-credentials.json")
    creds = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as fh:
            creds = json.load(fh)
    missing = {name: make() for name, make in _GENERATED.items() if not _usable(name, creds.get(name))}
    if missing:
        creds.update(missing)
        os.makedirs(INSTANCE, exist_ok=True)
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as fh:
            json.dump(creds, fh)
    return creds


def _alphanumeric(length):
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


_GENERATED = {
    "WECHAT_COMPONENT_APPID": lambda: "wx" + secrets.token_hex(8),
    "WECHAT_COMPONENT_APPSECRET": lambda: secrets.token_hex(16),
    "WECHAT_COMPONENT_TOKEN": lambda: _alphanumeric(16),  # the message-check token: letters and digits
    "WECHAT_COMPONENT_AES_KEY": lambda: _alphanumeric(43),
    "SECRET_KEY": lambda: secrets.token_urlsafe(48),
    "DATA_KEY": lambda: secrets.token_urlsafe(48),
}


def _usable(name, value):
    if not value:
        return False
    return name not in ("SECRET_KEY", "DATA_KEY") or len(value) >= 32


def dev_settings(creds, portal_url, sandbox_url):
    """The portal's settings under `make run`: development mode, this checkout's keys, the sandbox as
    WeChat. The environment wins (an operator may point the demo at MySQL or another port)."""
    settings = dict(creds, PORTAL_ENV="development", PUBLIC_BASE_URL=portal_url, WECHAT_API_BASE=sandbox_url,
                    WECHAT_MP_BASE=sandbox_url, WECHAT_OPEN_BASE=sandbox_url)
    settings = {key: os.environ.get(key) or value for key, value in settings.items()}
    if not os.environ.get("DATABASE_URL"):  # the SQLite file lives with the rest of this instance
        settings["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(INSTANCE, "portal.sqlite3")
    return settings


def _wait_for(url, seconds=20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=1).status_code < 500:
                return True
        except requests.RequestException:
            time.sleep(0.2)
    return False


def sandbox_command(creds, portal_url, port):
    """The sandbox's command line for this checkout's credentials."""
    # `--name=value`: a generated value may begin with "-", which argparse would take for an option
    return [sys.executable, "-m", "sandbox", "--host", "127.0.0.1", "--port", str(port), "--demo",
            "--component-appid=" + creds["WECHAT_COMPONENT_APPID"],
            "--component-secret=" + creds["WECHAT_COMPONENT_APPSECRET"],
            "--component-token=" + creds["WECHAT_COMPONENT_TOKEN"],
            "--component-aes-key=" + creds["WECHAT_COMPONENT_AES_KEY"],
            "--auth-event-url", portal_url + "/wechat/auth-events",
            "--message-url", portal_url + "/wechat/events/$APPID$",
            "--authorized-domain", "127.0.0.1", "--server-domain", DEMO_SERVER_DOMAIN,
            "--push-interval", "600", "--audit-delay", "30",
            "--state-file", os.path.join(INSTANCE, "sandbox-state.json")]


def start_sandbox(creds, portal_url, port):
    return subprocess.Popen(sandbox_command(creds, portal_url, port), cwd=ROOT)


def main():
    portal_port = int(os.environ.get("PORTAL_PORT", "5000"))
    sandbox_port = int(os.environ.get("SANDBOX_PORT", "8700"))
    portal_url, sandbox_url = f"http://127.0.0.1:{portal_port}", f"http://127.0.0.1:{sandbox_port}"
    creds = demo_credentials()
    overrides = dev_settings(creds, portal_url, sandbox_url)

    from flask_migrate import upgrade
    from werkzeug.serving import make_server

    from portal import create_app
    from portal.queueing.schedule import start_embedded_scheduler

    app = create_app(overrides)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # request lines would show auth codes in queries
    with app.app_context():
        upgrade()
    app.test_cli_runner().invoke(args=["demo-data"])
    server = make_server("127.0.0.1", portal_port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sandbox = start_sandbox(creds, portal_url, sandbox_port)
    if not _wait_for(sandbox_url + "/sandbox/"):
        sandbox.terminate()
        sys.exit("The sandbox did not start; see its output above.")
    requests.post(sandbox_url + "/sandbox/push-ticket", json={"wait": True}, timeout=10)
    start_embedded_scheduler(app)
    from portal.demodata import seed

    added = seed(app, sandbox_url)  # needs the portal serving pushes and the sandbox's ticket delivered
    if added:
        print(f"  Demo data: {added} mini-programs in their states, a fleet release, the pushes.", flush=True)
    gc.collect()  # what is loaded by now lives as long as the process: never walked again by the collector,
    gc.freeze()  # as in gunicorn's workers and worker.py (a full collection would pause every thread)
    _announce(app, portal_url, sandbox_url)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while sandbox.poll() is None:
            time.sleep(0.5)
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        sandbox.terminate()
        server.shutdown()
        app.extensions["coordination"].wait_until_idle(timeout=10)  # a job in flight ends its transaction


def _announce(app, portal_url, sandbox_url):
    with open(os.path.join(app.instance_path, "demo-logins.json"), encoding="utf-8") as fh:
        logins = json.load(fh)
    lines = ["", "  Portal   " + portal_url, "  Sandbox  " + sandbox_url + "/sandbox/  (the WeChat emulator)", "",
             "  Logins:"]
    lines += [f"    {email:26} {password}" for email, password in logins.items()]
    lines += ["", "  Press Ctrl-C to stop.", ""]
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    main()
