import sys

from wharf.infra.cli import main

sys.exit(main())
