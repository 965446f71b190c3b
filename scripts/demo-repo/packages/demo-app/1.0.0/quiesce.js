'use strict';
// demo-app's quiesce hook: asks the running server to drain and waits until it has.
const fs = require('node:fs');
const http = require('node:http');

let config = {};
try {
  config = JSON.parse(fs.readFileSync(process.env.PROVISOR_CONFIG, 'utf8'));
} catch (error) {
  if (error.code !== 'ENOENT') throw error;
}
const port = config.port === undefined ? 8092 : Number(config.port);
const request = http.request({ host: '127.0.0.1', port, path: '/admin/quiesce', method: 'POST' }, (res) => {
  let body = '';
  res.on('data', (chunk) => (body += chunk));
  res.on('end', () => {
    console.log(`demo-app on port ${port}: ${res.statusCode} ${body.trim()}`);
    process.exit(res.statusCode === 200 ? 0 : 1);
  });
});
request.on('error', (error) => {
  console.error(`demo-app quiesce: ${error.message}`);
  process.exit(1);
});
request.end();
