#!/bin/sh
# demo-site uninstall hook: removes the files it rendered, nothing else of the docroot.
set -eu
rm -f "$PROVISOR_SYSTEM_ROOT/srv/www/index.html" "$PROVISOR_SYSTEM_ROOT/srv/www/site.css"
echo "demo-site: removed its pages from $PROVISOR_SYSTEM_ROOT/srv/www"
