#!/bin/sh
# demo-site configure hook: renders the content again with the configured title.
set -eu
exec node render.js
