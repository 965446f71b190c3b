#!/bin/sh
# quiesce hook: drains the running demo-app (see quiesce.js); Provisor bounds it by the manifest's timeout.
set -eu
exec node quiesce.js
