import signal
import sys

from pipelines.cli import main

# `python -m pipelines status | head` should stop quietly, as Unix tools do.
signal.signal(signal.SIGPIPE, signal.SIG_DFL)
sys.exit(main())
