"""The bundle's entry script (bundle/choreo-run.spec): the same entry point as the installed command.

launcher.entry also serves the bundle's hidden supervisor mode (the lean supervisor's re-exec).
"""

import sys

from launcher.entry import main

sys.exit(main())
