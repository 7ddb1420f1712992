from ragengine.cli import main

raise SystemExit(main())
