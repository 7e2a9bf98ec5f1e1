"""Fleet-release jobs: one step of one mini-program, the coordinator of one release, and the periodic
tick of every active release (which picks up audit results the pushes and the poller recorded)."""

from portal.services import fleet


def fleet_step_job(target_id, attempt):
    """Run the target's current step (commit, submit or release) if `attempt` is still its own."""
    return fleet.run_step(target_id, attempt)


def fleet_tick_job(release_id):
    """Advance one fleet release: reconcile audits, stop checks, hand out steps."""
    fleet.tick_job_started(release_id)
    return fleet.tick(release_id)


def tick_active_fleets():
    """Tick every running or cancelling release."""
    return {"ticked": [fleet.tick(release_id)["release"] for release_id in fleet.active_release_ids()]}
