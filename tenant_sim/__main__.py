"""``python -m tenant_sim``: the demo (what scripts/demo runs), quiet on an early Ctrl-C.

Loading the demo's modules takes a moment; a Ctrl-C meanwhile ends it without a traceback.
From then on ``tenant_sim.demo`` handles Ctrl-C and SIGTERM itself.
"""

import sys

try:
    from tenant_sim.demo import main
except KeyboardInterrupt:
    sys.exit(130)

sys.exit(main(sys.argv[1:]))
