"""Smoke tests for the ARM64 image (.ci/arm64/test-arm64.sh sets AWAITIFY_ARM64_SMOKE=1).

They prove the image's interpreter and wheels work on aarch64 before the backend suite runs.
Outside that run (a plain `make test` on the host) this directory is not collected.
"""

import os

if not os.environ.get("AWAITIFY_ARM64_SMOKE"):
    collect_ignore_glob = ["test_*.py"]
