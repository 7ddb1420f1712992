"""``python -m ragengine``: the command line."""

from ragengine.cli import main

raise SystemExit(main())
