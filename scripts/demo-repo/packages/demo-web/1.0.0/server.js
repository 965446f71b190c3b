'use strict';
// demo-web: the front end on 127.0.0.1, spreading requests over the application servers.
// Configuration (the JSON file named by PROVISOR_CONFIG):
//   port       (default 8093)
//   upstreams  comma-separated base URLs of demo-app servers, e.g. "http://127.0.0.1:8092"
// GET / is a small page; /api/PATH goes to PATH on the next upstream (round robin),
// trying the others when one does not answer or answers 503 (draining).
// GET /version names the version.
const fs = require('node:fs');
const http = require('node:http');

const VERSION = '1.0.0';
const UPSTREAM_TIMEOUT_MS = 10000;
const MAX_BODY_BYTES = 64 * 1024;

function readConfig() {
  try {
    return JSON.parse(fs.readFileSync(process.env.PROVISOR_CONFIG, 'utf8'));
  } catch (error) {
    if (error.code === 'ENOENT') return {};
    throw error;
  }
}

const config = readConfig();
const port = config.port === undefined ? 8093 : Number(config.port);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error(`demo-web: invalid port ${JSON.stringify(config.port)}`);
  process.exit(2);
}
const upstreams = String(config.upstreams || '').split(',').map((u) => u.trim()).filter((u) => u !== '').map((u) => new URL(u));
let next = 0;

function send(res, status, body, type = 'text/plain; charset=utf-8') {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), Server: `demo-web/${VERSION}` });
  res.end(body);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) reject(new Error('too large'));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function proxy(req, res, pathname) {
  if (upstreams.length === 0) return send(res, 502, 'demo-web: no upstreams configured\n');
  const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : await readBody(req);
  let last = 'no upstream answered';
  for (let tries = 0; tries < upstreams.length; tries += 1) {
    const upstream = upstreams[next % upstreams.length];
    next += 1;
    try {
      const response = await fetch(new URL(pathname, upstream), { method: req.method, body, signal: AbortSignal.timeout(UPSTREAM_TIMEOUT_MS) });
      const text = await response.text();
      if (response.status === 503) {
        last = `${upstream.href} is unavailable`;
        continue;
      }
      res.setHeader('X-Upstream', upstream.href);
      return send(res, response.status, text, response.headers.get('content-type') || 'text/plain; charset=utf-8');
    } catch (error) {
      last = `${upstream.href}: ${error.message}`;
    }
  }
  return send(res, 502, `demo-web: ${last}\n`);
}

const server = http.createServer((req, res) => {
  const pathname = new URL(req.url || '/', 'http://localhost').pathname;
  if (pathname === '/version' || pathname === '/healthz') return send(res, 200, `demo-web ${VERSION}\n`);
  if (pathname === '/') return send(res, 200, `<!doctype html><title>demo-web ${VERSION}</title><p>demo-web ${VERSION} in front of ${upstreams.length} application server(s)</p>\n`, 'text/html; charset=utf-8');
  if (pathname.startsWith('/api/')) {
    proxy(req, res, pathname.slice(4)).catch((error) => send(res, error.message === 'too large' ? 413 : 502, `demo-web: ${error.message}\n`));
    return;
  }
  return send(res, 404, 'not found\n');
});

server.on('error', (error) => {
  console.error(`demo-web: ${error.message}`);
  process.exit(1);
});
server.listen(port, '127.0.0.1', () => console.log(`demo-web ${VERSION} listening on http://127.0.0.1:${port}/, upstreams ${upstreams.map((u) => u.href).join(', ') || 'none'}`));

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    console.log(`demo-web: ${signal}, shutting down`);
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 2000).unref();
  });
}
