import sys

from databounty.cli import main

sys.exit(main())
