"""``python -m simlin``: the same as the ``simlin`` command."""

import sys

from simlin.cli import main

sys.exit(main())
