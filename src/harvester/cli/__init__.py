"""The command-line shell: parse, call one ``app`` function, render, map errors to exit codes.

Before anything imports numba, point its on-disk cache of compiled kernels into the home
directory, so an installed harvester writes nothing outside ``HARVESTER_HOME``. This is the
one environment change the shell makes; an explicit ``NUMBA_CACHE_DIR`` wins.
"""

import os

from harvester.core.paths import resolve_home

os.environ.setdefault("NUMBA_CACHE_DIR", str(resolve_home(os.environ) / "cache" / "numba"))
