#!/bin/sh
# demo-site install hook: renders the content into $PROVISOR_SYSTEM_ROOT/srv/www.
set -eu
exec node render.js
