"""``python -m assistant``: the command line (``assistant/channels/cli.py``)."""

import sys

from assistant.channels.cli import main

sys.exit(main())
