"""One process of the token single-flight benchmark (started 4 times by `bench.tokens`).

    python -m bench.token_worker SETTINGS_JSON_FILE APPID THREADS SYNC_DIR

Builds a portal app from the settings and starts THREADS threads, each to make one mini-program API call
(get_category) that needs the expired tokens. Then it writes SYNC_DIR/ready-<pid> and waits for
SYNC_DIR/go, which the benchmark writes once every process is ready, so all threads of all processes are
released together. Prints one JSON line: outcomes and latencies (from the release).
"""

import json
import os
import sys
import threading
import time
from pathlib import Path


def main() -> None:
    settings_file, appid, threads, sync_dir = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    from portal import create_app
    from portal.services.wechat import get_client

    with open(settings_file, encoding="utf-8") as handle:
        app = create_app(json.load(handle))
    results, latencies = [], []
    start = threading.Event()

    def work():
        start.wait()
        began = time.monotonic()
        with app.app_context():
            try:
                get_client().miniprogram(appid).code.get_category()
                results.append("ok")
            except Exception as exc:  # noqa: BLE001 - reported, not raised
                results.append(f"{type(exc).__name__}: {exc}")
        latencies.append(time.monotonic() - began)

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for thread in pool:
        thread.start()
    (sync_dir / f"ready-{os.getpid()}").touch()
    deadline = time.monotonic() + 120
    while not (sync_dir / "go").exists() and time.monotonic() < deadline:
        time.sleep(0.005)
    start.set()
    released_late = time.time() - float((sync_dir / "go").read_text())
    for thread in pool:
        thread.join(timeout=120)
    print(json.dumps({"results": results, "latencies": latencies, "released_late": released_late}))


if __name__ == "__main__":
    main()
