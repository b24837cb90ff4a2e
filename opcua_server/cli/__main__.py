"""`python -m opcua_server.cli`: the trustfloor command line."""

import contextlib
import sys

from opcua_server.cli.main import main

with contextlib.suppress(BrokenPipeError):
    sys.exit(main())
