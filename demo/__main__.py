"""``python -m demo``: run the end-to-end demo (see :mod:`demo.run_demo`)."""

from __future__ import annotations

import sys

from demo.run_demo import main

if __name__ == "__main__":
    sys.exit(main())
