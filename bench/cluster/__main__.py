"""bench/cluster.sh's Python half: `python3 bench/cluster scale|fault|rolling|soak`."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

SCENARIOS = ("scale", "fault", "rolling", "soak")

if len(sys.argv) != 2 or sys.argv[1] not in SCENARIOS:
    sys.exit(f"usage: bench/cluster.sh {'|'.join(SCENARIOS)}")
__import__(sys.argv[1]).main()
