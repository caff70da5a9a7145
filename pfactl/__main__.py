"""``python -m pfactl``: the same as the ``pfactl`` script."""

import sys

from .cli import main

sys.exit(main())
