"""The portal as `wsgi.py` builds it, for the callback benchmark: configuration from the environment, plus
one override. The callback routes are rate limited per source address ("600 per minute" unless
CALLBACK_RATE_LIMIT is set, which the environment cannot do); the load generator is one address, so the
limit is raised here. The limiter still runs (and counts in Redis) on every push."""

import os

from portal import create_app

app = create_app({"CALLBACK_RATE_LIMIT": os.environ.get("BENCH_CALLBACK_RATE_LIMIT", "1000000 per minute")})
