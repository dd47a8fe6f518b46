"""``python -m service.ingest.fetch --record URL OUT_DIR``: record live responses as fixtures."""

import sys

from .record import main

sys.exit(main())
