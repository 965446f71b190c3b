#!/bin/sh
# storage-pool configure hook: performs the one operation named by the action parameter.
set -eu
exec node pool.js configure
