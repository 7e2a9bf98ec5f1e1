"""Push forwarding: WeChat's pushes sent on to the operator's own systems (shop back ends, customer-service
tools), signed, in order per (rule, appid), retried with back-off for a day.

`rules` (the staff's rules and the per-process snapshot matching uses), `matching` (deliveries queued in
the push's own transaction, called by `services.pushes.store`), `signals` (waking a rule's job),
`delivery` (the job's work, the delivery log, re-sending, test pushes), `target` (POSTs to the operator's
URL over kept connections), `signing` (body and headers).
Imports nothing from `services.pushes`, which calls it.
"""

from portal.services.forwarding.delivery import (
    app_names,
    delivery_counts,
    list_deliveries,
    resend,
    run_rule,
    send_test_push,
    sweep,
)
from portal.services.forwarding.matching import Forwardable, queue_deliveries
from portal.services.forwarding.rules import (
    check_url,
    create_rule,
    get_rule,
    list_rules,
    masked,
    rotate_secret,
    set_enabled,
)
from portal.services.forwarding.signals import job_started, wake

__all__ = ["Forwardable", "app_names", "check_url", "create_rule", "delivery_counts", "get_rule", "job_started",
           "list_deliveries", "list_rules", "masked", "queue_deliveries", "resend", "rotate_secret", "run_rule",
           "send_test_push", "set_enabled", "sweep", "wake"]
