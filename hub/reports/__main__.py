import sys

from hub.reports.cli import main

sys.exit(main())
