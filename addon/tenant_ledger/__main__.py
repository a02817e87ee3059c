"""Entry point: ``python -m tenant_ledger [serve|rate|verify] ...``."""

import sys

from tenant_ledger.cli import main

sys.exit(main(sys.argv[1:]))
