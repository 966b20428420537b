"""The one logger every module of the backend uses (no print)."""

from __future__ import annotations

import logging
import os

LOG_LEVEL = os.getenv("LOG_LEVEL", "INFO").upper()

logger = logging.getLogger("soniquebay.api")

if not logger.handlers:
    _handler = logging.StreamHandler()
    _handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s [%(module)s] %(message)s"))
    logger.addHandler(_handler)
    logger.setLevel(LOG_LEVEL)
    logger.propagate = True
