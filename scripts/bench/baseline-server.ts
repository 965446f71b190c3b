/**
 * The ingest baseline: a plain express JSON endpoint doing what
 * Software.Install does after the SOAP layer, through the same
 * ProvisioningService path (system lookup, driver validation, one INSERT).
 * No authentication. Run as a child process by the benchmark:
 *
 *   PORT=… PROVISOR_DATA_DIR=… [DATABASE_URL=…] node dist/scripts/bench/baseline-server.js
 *
 * POST /install {system, component, parameters?: [{name, value}], idempotencyKey?} → {requestId}
 */
import http from 'node:http';
import express from 'express';
import { loadConfig } from '../../src/config';
import { ProvisorError } from '../../src/errors';
import { exitOnSignal, openProvisioningCore } from './core';

interface InstallBody {
  system: string;
  component: string;
  parameters: Array<{ name: string; value: string }>;
  idempotencyKey?: string;
}

function readInstall(body: unknown): InstallBody | string {
  if (body === null || typeof body !== 'object') return 'the body is not a JSON object';
  const b = body as Record<string, unknown>;
  if (typeof b.system !== 'string' || b.system === '') return 'system must be a non-empty string';
  if (typeof b.component !== 'string' || b.component === '') return 'component must be a non-empty string';
  const parameters: Array<{ name: string; value: string }> = [];
  if (b.parameters !== undefined) {
    if (!Array.isArray(b.parameters)) return 'parameters must be an array';
    for (const p of b.parameters as unknown[]) {
      const q = p as Record<string, unknown> | null;
      if (q === null || typeof q !== 'object' || typeof q.name !== 'string' || typeof q.value !== 'string') return 'each parameter needs a name and a value';
      parameters.push({ name: q.name, value: q.value });
    }
  }
  if (b.idempotencyKey !== undefined && typeof b.idempotencyKey !== 'string') return 'idempotencyKey must be a string';
  return { system: b.system, component: b.component, parameters, idempotencyKey: b.idempotencyKey };
}

async function main(): Promise<void> {
  const config = loadConfig();
  const core = await openProvisioningCore(config);
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '1mb' }));
  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.post('/install', async (req, res) => {
    const install = readInstall(req.body);
    if (typeof install === 'string') {
      res.status(400).json({ error: install });
      return;
    }
    try {
      const requestId = await core.api.submitSoftware('Install', install, { name: 'bench' });
      res.json({ requestId });
    } catch (err) {
      if (err instanceof ProvisorError) res.status(400).json({ error: err.message, code: err.code });
      else res.status(500).json({ error: String(err) });
    }
  });
  const server = http.createServer(app);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(config.port, config.host, resolve));
  exitOnSignal(async () => {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    await core.close();
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`baseline-server: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
