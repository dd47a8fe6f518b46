"""``python -m service`` runs the threadsum CLI."""

import sys

from .cli import main

sys.exit(main())
