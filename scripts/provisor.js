#!/usr/bin/env node
'use strict';
// The `provisor` command (see scripts/cli/provisor.ts); runs the compiled CLI.
const path = require('node:path');
const fs = require('node:fs');
const compiled = path.join(__dirname, '..', 'dist', 'scripts', 'cli', 'provisor.js');
if (!fs.existsSync(compiled)) {
  process.stderr.write('provisor: not built yet; run `npm run build` (npm install does it) first\n');
  process.exit(1);
}
require(compiled)
  .runCli(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });
