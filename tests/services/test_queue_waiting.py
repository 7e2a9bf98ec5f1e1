"""`queueing.waiting`: how many jobs wait in a queue for a worker to take them (a fleet step reads it to leave
the hand-out of new steps to a later step while enough of them wait). With Redis it is RQ's queue; in
embedded mode a job starts in its own thread at once, so none ever waits."""

from portal.queueing import enqueue, waiting


def test_a_job_waits_in_its_queue_until_a_worker_takes_it(app):
    with app.app_context():
        shared = app.extensions["coordination"].is_shared
        before = waiting("maintenance")
        enqueue("portal.jobs.fleet.tick_active_fleets", queue="maintenance", job_id="queue-waiting-test")
        # no worker runs in this test: with Redis the job stays queued
        assert waiting("maintenance") == (before + 1 if shared else 0)
        assert waiting("fleet") == 0
        assert app.extensions["coordination"].wait_until_idle(10)
