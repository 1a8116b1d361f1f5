import sys

from tingle.cli import main

sys.exit(main())
