import sys

from kuaidi.cli import main

sys.exit(main())
