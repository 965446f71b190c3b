'use strict';
// demo-app: an application server on 127.0.0.1 that keeps its data in demo-db.
// Configuration (the JSON file named by PROVISOR_CONFIG):
//   port   (default 8092)
//   dbUrl  (default http://127.0.0.1:8091), the demo-db it reads and writes through
// GET /kv/KEY and PUT /kv/KEY go through to the database; GET /version names the version.
// POST /admin/quiesce drains it: new requests are refused (503) from then on,
// and the answer comes once the requests in hand have finished.
// GET /admin/status answers {"version", "draining", "inFlight"}.
const fs = require('node:fs');
const http = require('node:http');

const VERSION = '1.0.0';
const MAX_VALUE_BYTES = 64 * 1024;
const DB_TIMEOUT_MS = 10000;

function readConfig() {
  try {
    return JSON.parse(fs.readFileSync(process.env.PROVISOR_CONFIG, 'utf8'));
  } catch (error) {
    if (error.code === 'ENOENT') return {};
    throw error;
  }
}

const config = readConfig();
const port = config.port === undefined ? 8092 : Number(config.port);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error(`demo-app: invalid port ${JSON.stringify(config.port)}`);
  process.exit(2);
}
const dbUrl = new URL(config.dbUrl || 'http://127.0.0.1:8091');
let draining = false;
let inFlight = 0;
let drained = [];

function send(res, status, body, type = 'text/plain; charset=utf-8') {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), Server: `demo-app/${VERSION}` });
  res.end(body);
}

function finished() {
  inFlight -= 1;
  if (draining && inFlight === 0) for (const done of drained.splice(0)) done();
}

async function toDatabase(method, key, body) {
  const response = await fetch(new URL(`/kv/${encodeURIComponent(key)}`, dbUrl), { method, body, signal: AbortSignal.timeout(DB_TIMEOUT_MS) });
  return { status: response.status, text: await response.text() };
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_VALUE_BYTES) reject(new Error('too large'));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function handle(req, res) {
  if (req.url === '/version' || req.url === '/healthz') return send(res, 200, `demo-app ${VERSION}\n`);
  const match = /^\/kv\/([A-Za-z0-9._-]{1,200})$/.exec(req.url || '');
  if (match === null) return send(res, 404, 'not found\n');
  try {
    if (req.method === 'GET') {
      const answer = await toDatabase('GET', match[1]);
      return send(res, answer.status, answer.text);
    }
    if (req.method === 'PUT') {
      const value = await readBody(req);
      const answer = await toDatabase('PUT', match[1], value);
      return send(res, answer.status, answer.text);
    }
    return send(res, 405, 'method not allowed\n');
  } catch (error) {
    return send(res, error.message === 'too large' ? 413 : 502, `demo-app: ${error.message}\n`);
  }
}

const server = http.createServer((req, res) => {
  if (req.url === '/admin/status') {
    return send(res, 200, JSON.stringify({ version: VERSION, draining, inFlight }), 'application/json');
  }
  if (req.url === '/admin/quiesce' && req.method === 'POST') {
    draining = true;
    console.log(`demo-app: draining, ${inFlight} request(s) in hand`);
    if (inFlight === 0) return send(res, 200, 'drained\n');
    drained.push(() => send(res, 200, 'drained\n'));
    return;
  }
  if (draining) {
    res.setHeader('Connection', 'close');
    return send(res, 503, 'demo-app is draining\n');
  }
  inFlight += 1;
  res.on('close', finished);
  void handle(req, res);
});

server.on('error', (error) => {
  console.error(`demo-app: ${error.message}`);
  process.exit(1);
});
server.listen(port, '127.0.0.1', () => console.log(`demo-app ${VERSION} listening on http://127.0.0.1:${port}/, database ${dbUrl.href}`));

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    console.log(`demo-app: ${signal}, shutting down`);
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 2000).unref();
  });
}
