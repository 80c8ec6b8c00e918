"""``python -m auth_sessions``: the same as the ``auth-sessions`` command."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())
