/**
 * Reference server: node-soap's own `soap.listen` on a bare http.Server,
 * serving wsdl/software.wsdl at /soap/Software, with an Install handler
 * that does the same work as Provisor's (the real Authenticator for the
 * UsernameToken, then the same ProvisioningService path). It shows what the
 * stock node-soap server costs for the same request. Run as a child process:
 *
 *   PORT=… PROVISOR_DATA_DIR=… [DATABASE_URL=…] node dist/scripts/bench/node-soap-server.js
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import * as soap from 'soap';
import { AddressThrottle } from '../../src/auth/address-throttle';
import { NonceStore } from '../../src/auth/nonce-store';
import { LoginGuard } from '../../src/auth/login-guard';
import { LoginStateStore } from '../../src/auth/login-state-store';
import { SecretBox } from '../../src/auth/secret-box';
import { UserStore } from '../../src/auth/users';
import { systemClock } from '../../src/clock';
import { loadConfig } from '../../src/config';
import { ProvisorError } from '../../src/errors';
import { createLogger } from '../../src/log';
import { Metrics } from '../../src/metrics';
import { projectRoot } from '../../src/project-root';
import { Authenticator } from '../../src/soap/ws-security';
import { exitOnSignal, openProvisioningCore } from './core';

/** node-soap hands text either as a string or as `{ $value, attributes }`. */
function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  if (value !== null && typeof value === 'object' && '$value' in value) return text((value as { $value: unknown }).$value);
  return undefined;
}

function asArray(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

function clientFault(message: string): { Fault: { faultcode: string; faultstring: string } } {
  return { Fault: { faultcode: 'soap:Client', faultstring: message } };
}

async function main(): Promise<void> {
  const config = loadConfig();
  const core = await openProvisioningCore(config);
  const secrets = SecretBox.load(config.secretKey, config.secretKeyFile);
  const login = new LoginGuard(new LoginStateStore(core.dataSource, config.login), new AddressThrottle(config.login, core.dataSource), systemClock, createLogger(config.logLevel), new Metrics());
  const auth = new Authenticator(new UserStore(core.dataSource, secrets), secrets, login, systemClock, {
    nonces: new NonceStore(core.dataSource),
    maxTokenAgeSeconds: config.soap.maxTokenAgeSeconds,
    maxClockSkewSeconds: config.soap.maxClockSkewSeconds,
  });
  const wsdl = fs.readFileSync(path.join(projectRoot(), 'wsdl', 'software.wsdl'), 'utf8');

  const install = async (args: Record<string, unknown>, _cb: unknown, headers: Record<string, unknown> | undefined): Promise<{ requestId: string }> => {
    const security = headers?.Security as Record<string, unknown> | undefined;
    const token = security?.UsernameToken as Record<string, unknown> | undefined;
    const username = text(token?.Username);
    const password = text(token?.Password);
    let caller: string;
    try {
      const principal = await auth.authenticate(username === undefined || password === undefined ? undefined : { username, password, digest: false });
      caller = principal.name;
    } catch (err) {
      throw clientFault(err instanceof Error ? err.message : String(err));
    }
    const system = text(args.system);
    const component = text(args.component);
    if (system === undefined || component === undefined) throw clientFault('system and component are required');
    const list = args.parameters as Record<string, unknown> | undefined;
    const parameters = asArray(list?.parameter).map((p) => {
      const q = p as Record<string, unknown>;
      return { name: text(q.name) ?? '', value: text(q.value) ?? '' };
    });
    try {
      const requestId = await core.api.submitSoftware('Install', { system, component, parameters, idempotencyKey: text(args.idempotencyKey) }, { name: caller });
      return { requestId };
    } catch (err) {
      if (err instanceof ProvisorError) throw clientFault(err.message);
      throw err;
    }
  };

  const server = http.createServer((req, res) => {
    // soap.listen answers its own path; anything else is a 404 here.
    if (!(req.url ?? '').startsWith('/soap/Software')) {
      res.writeHead(404);
      res.end();
    }
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(config.port, config.host, resolve));
  await new Promise<void>((resolve, reject) => {
    soap.listen(server, {
      path: '/soap/Software',
      services: { SoftwareService: { SoftwareSoap11Port: { Install: install }, SoftwareSoap12Port: { Install: install } } },
      xml: wsdl,
      callback: (err: unknown) => (err === null || err === undefined ? resolve() : reject(err instanceof Error ? err : new Error(String(err)))),
    });
  });
  exitOnSignal(async () => {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    await core.close();
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`node-soap-server: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
