'use strict';
// demo-httpd: serves static files from a docroot on 127.0.0.1.
// Configuration comes from the JSON file named by PROVISOR_CONFIG:
//   port     (default 8081)
//   docroot  (default srv/www; relative paths are under PROVISOR_SYSTEM_ROOT)
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

const VERSION = '1.0.0';
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

function readConfig() {
  const file = process.env.PROVISOR_CONFIG;
  if (!file) return {};
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    if (error.code === 'ENOENT') return {};
    throw error;
  }
}

const config = readConfig();
const systemRoot = process.env.PROVISOR_SYSTEM_ROOT || process.cwd();
const port = config.port === undefined ? 8081 : Number(config.port);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error(`demo-httpd: invalid port ${JSON.stringify(config.port)}`);
  process.exit(2);
}
const docroot = path.resolve(systemRoot, config.docroot || 'srv/www');

function send(req, res, status, type, body) {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(req.method === 'HEAD' ? undefined : body);
  console.log(`${new Date().toISOString()} ${req.method} ${req.url} ${status}`);
}

const server = http.createServer((req, res) => {
  res.setHeader('Server', `demo-httpd/${VERSION}`);
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return send(req, res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
  }
  let pathname;
  try {
    pathname = decodeURIComponent(new URL(req.url, 'http://localhost').pathname);
  } catch {
    return send(req, res, 400, 'text/plain; charset=utf-8', 'bad request\n');
  }
  if (pathname === '/healthz') return send(req, res, 200, 'text/plain; charset=utf-8', 'ok\n');
  let file = path.join(docroot, pathname);
  if (pathname.includes('\0') || (file !== docroot && !file.startsWith(docroot + path.sep))) {
    return send(req, res, 403, 'text/plain; charset=utf-8', 'forbidden\n');
  }
  fs.stat(file, (error, stats) => {
    if (!error && stats.isDirectory()) file = path.join(file, 'index.html');
    fs.readFile(file, (readError, body) => {
      if (readError) return send(req, res, 404, 'text/plain; charset=utf-8', 'not found\n');
      send(req, res, 200, TYPES[path.extname(file).toLowerCase()] || 'application/octet-stream', body);
    });
  });
});

server.on('error', (error) => {
  console.error(`demo-httpd: ${error.message}`);
  process.exit(1);
});
server.listen(port, '127.0.0.1', () => {
  console.log(`demo-httpd ${VERSION} listening on http://127.0.0.1:${port}/, serving ${docroot}`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    console.log(`demo-httpd: ${signal}, shutting down`);
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 2000).unref();
  });
}
