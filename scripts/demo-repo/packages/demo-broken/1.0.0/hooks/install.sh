#!/bin/sh
# demo-broken install hook: fails on purpose, for failure tests.
echo "demo-broken: checking prerequisites"
echo "demo-broken: required library libunobtainium is missing" >&2
exit 3
