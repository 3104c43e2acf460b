import sys

from orgbook.cli import main

sys.exit(main())
