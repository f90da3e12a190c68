#!/bin/sh
# Self-test of the Graph fake (tests/testbed/graph_fake.py, started through graph-fake.sh): tokens (secret, RS256
# and PS256 assertions), paging, $select/$filter, faults, delta, $batch, the migration's resources, the control
# API, and the load time of big generated tenants. Ends with the "N passed, N failed" line.
cd "$(dirname "$0")/../.." || exit 1
exec python3 tests/integration/graphfake_selftest.py "$@"
