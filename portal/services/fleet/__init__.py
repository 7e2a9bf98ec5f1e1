"""Fleet releases: one template uploaded, submitted and released to many mini-programs, each with its own
parameters.

- `coordinator`: starts a release and hands out work (`tick`); runs one step job (`run_step`).
- `steps`: the per-app steps (upload, privacy + submit, release), each one idempotent job: the target's
  bookkeeping around the WeChat steps of `services.code`, which single-app jobs run too.
- `controls`: pause, resume, cancel, retry the failed targets.
- `report`: the progress, the chart, the CSV and the labels the pages show.
- `signals`, `leases`, `limits`: wake-ups of the coordinator, the liveness of step jobs, and the pace of
  calls to WeChat, shared by every worker.
- `rules`: what the coordinator and the steps agree on.

Imports go one way: controls → coordinator → steps → limits, rules, and `services.code`; nothing imports
back up (`services.code` knows nothing of the fleet).
"""

from portal.services.fleet.coordinator import (
    active_release_ids,
    get_release,
    run_step,
    start_fleet_release,
    tick,
)
from portal.services.fleet.signals import (
    releases_waiting_on,
    request_tick,
    tick_job_started,
    wake,
    wake_after_commit,
)

__all__ = ["active_release_ids", "get_release", "releases_waiting_on", "request_tick", "run_step",
           "start_fleet_release", "tick", "tick_job_started", "wake", "wake_after_commit"]
