"""``python -m fileserver.cli``: the same as the ``fileserver`` console script."""

import sys

from fileserver.cli.main import main

sys.exit(main())
