'use strict';
// demo-db: a small key-value database server on 127.0.0.1, persisting to a file.
// Configuration (the JSON file named by PROVISOR_CONFIG):
//   port     (default 8091)
//   datadir  (default var/lib/demo-db; relative paths are under PROVISOR_SYSTEM_ROOT)
// GET /kv/KEY answers the value (404 when absent), PUT /kv/KEY stores the body,
// DELETE /kv/KEY removes it, GET /version and GET /healthz name the version.
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

const VERSION = '2.0.0';
const MAX_VALUE_BYTES = 64 * 1024;
const MAX_KEYS = 10000;
const KEY = /^\/kv\/([A-Za-z0-9._-]{1,200})$/;

function readConfig() {
  try {
    return JSON.parse(fs.readFileSync(process.env.PROVISOR_CONFIG, 'utf8'));
  } catch (error) {
    if (error.code === 'ENOENT') return {};
    throw error;
  }
}

const config = readConfig();
const port = config.port === undefined ? 8091 : Number(config.port);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error(`demo-db: invalid port ${JSON.stringify(config.port)}`);
  process.exit(2);
}
const dataDir = path.resolve(process.env.PROVISOR_SYSTEM_ROOT || process.cwd(), config.datadir || 'var/lib/demo-db');
const dataFile = path.join(dataDir, 'data.json');
fs.mkdirSync(dataDir, { recursive: true });
let data = {};
try {
  data = JSON.parse(fs.readFileSync(dataFile, 'utf8'));
} catch (error) {
  if (error.code !== 'ENOENT') throw error;
}

// Every write replaces the file atomically: a crash leaves the old or the new data.
function persist() {
  const partial = `${dataFile}.${process.pid}.part`;
  fs.writeFileSync(partial, JSON.stringify(data));
  fs.renameSync(partial, dataFile);
}

function send(res, status, body) {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body), Server: `demo-db/${VERSION}` });
  res.end(body);
}

const server = http.createServer((req, res) => {
  if (req.url === '/version' || req.url === '/healthz') return send(res, 200, `demo-db ${VERSION}\n`);
  const match = KEY.exec(req.url || '');
  if (match === null) return send(res, 404, 'not found\n');
  const key = match[1];
  if (req.method === 'GET') {
    return Object.prototype.hasOwnProperty.call(data, key) ? send(res, 200, data[key]) : send(res, 404, `no key ${key}\n`);
  }
  if (req.method === 'DELETE') {
    delete data[key];
    persist();
    return send(res, 204, '');
  }
  if (req.method !== 'PUT') return send(res, 405, 'method not allowed\n');
  const chunks = [];
  let size = 0;
  req.on('data', (chunk) => {
    size += chunk.length;
    if (size > MAX_VALUE_BYTES) {
      send(res, 413, `value is larger than ${MAX_VALUE_BYTES} bytes\n`);
      req.destroy();
    } else chunks.push(chunk);
  });
  req.on('end', () => {
    if (size > MAX_VALUE_BYTES) return;
    if (!Object.prototype.hasOwnProperty.call(data, key) && Object.keys(data).length >= MAX_KEYS) return send(res, 507, `more than ${MAX_KEYS} keys\n`);
    data[key] = Buffer.concat(chunks).toString('utf8');
    persist();
    send(res, 200, 'stored\n');
  });
});

server.on('error', (error) => {
  console.error(`demo-db: ${error.message}`);
  process.exit(1);
});
server.listen(port, '127.0.0.1', () => console.log(`demo-db ${VERSION} listening on http://127.0.0.1:${port}/, data in ${dataFile}`));

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    console.log(`demo-db: ${signal}, shutting down`);
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 2000).unref();
  });
}
