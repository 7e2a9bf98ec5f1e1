"""Tests of the WeChat sandbox (sandbox/), over real HTTP."""
