#!/bin/sh
# storage-pool install hook: creates srv/pool/ and records the pool's capacity.
set -eu
exec node pool.js install
