import fs from 'node:fs';
import path from 'node:path';
import { SOFTWARE_OPERATIONS } from '../../src/changemanager/planning-model';
import { buildDemoRepository } from '../../src/drivers/local';
import { escapeXml } from '../../src/xml/escape';
import { startTestServer, type TestServer } from '../support/harness';
import { envelope, postRaw, securityHeader, type Credentials } from '../support/soap-client';

export const CM = 'urn:provisor:changemanager:1';
export const PASSWORD = 'a-long-test-password';
export const ADMIN: Credentials = { username: 'cm-admin', password: PASSWORD };
export const OPERATOR: Credentials = { username: 'cm-operator', password: PASSWORD };
export const CUSTOMER: Credentials = { username: 'cm-customer', password: PASSWORD };

/** A server with the change manager polling quickly, generated plans polling task status every 0.1 s, the demo repository with one-second estimates (unless told not to) and simulated systems sim1..simN. */
export async function changeServer(systems = 2, extra: Record<string, string> = {}, options: { quickRepository?: boolean } = {}): Promise<TestServer> {
  const server = await startTestServer({ PROVISOR_CHANGES_POLL_MS: '50', PROVISOR_CHANGES_STATUS_POLL: 'PT0.1S', PROVISOR_SIMULATED_MIN_MS: '10', PROVISOR_SIMULATED_MAX_MS: '30', ...extra });
  await server.addUser(ADMIN.username, 'admin', PASSWORD);
  await server.addUser(OPERATOR.username, 'operator', PASSWORD);
  await server.app.users.addAccount('acme');
  await server.app.users.addUser({ name: CUSTOMER.username, role: 'customer', password: PASSWORD, account: 'acme', level: 1 });
  for (let i = 1; i <= systems; i++) await server.app.systems.add(`sim${i}`, 'simulated', {});
  if (options.quickRepository !== false) await server.app.systems.addRepository(await quickDemoRepository(path.join(server.dataDir, 'demo-repository')));
  return server;
}

/**
 * The demo repository with every operation of every package estimated at one
 * second, so that generated plans (which start no task before its planned
 * time) run in seconds on the simulated driver.
 */
export async function quickDemoRepository(dir: string): Promise<string> {
  const where = await buildDemoRepository(dir);
  const file = path.join(where, 'index.json');
  const index = JSON.parse(fs.readFileSync(file, 'utf8')) as { packages: Array<Record<string, unknown>> };
  for (const entry of index.packages) entry.durations = Object.fromEntries(SOFTWARE_OPERATIONS.map((op) => [op, 1]));
  fs.writeFileSync(file, JSON.stringify(index, null, 2));
  return where;
}

/**
 * The demo repository with each package's estimates multiplied by `factor`,
 * rounded up to whole seconds: its manifest's `durations`, and the quiesce
 * timeout, which the planner takes as the time a drain may need. The plans
 * keep their shape and run that much faster on the local driver.
 */
export async function scaledDemoRepository(dir: string, factor: number): Promise<string> {
  const where = await buildDemoRepository(dir);
  const file = path.join(where, 'index.json');
  const index = JSON.parse(fs.readFileSync(file, 'utf8')) as { packages: Array<{ durations?: Record<string, number>; quiesce?: { timeoutSeconds?: number } }> };
  const scaled = (seconds: number): number => Math.ceil(seconds * factor);
  for (const entry of index.packages) {
    if (entry.durations !== undefined) entry.durations = Object.fromEntries(Object.entries(entry.durations).map(([op, seconds]) => [op, scaled(seconds)]));
    if (entry.quiesce?.timeoutSeconds !== undefined) entry.quiesce.timeoutSeconds = scaled(entry.quiesce.timeoutSeconds);
  }
  fs.writeFileSync(file, JSON.stringify(index, null, 2));
  return where;
}

export interface SoapAnswer {
  readonly status: number;
  readonly body: string;
  /** The fault's ProvisorFault code, when the answer is a fault. */
  readonly fault: string | undefined;
  readonly field: string | undefined;
  readonly reason: string | undefined;
}

/** Sends one ChangeManager operation as a raw SOAP 1.1 envelope over HTTP. */
export async function cmCall(server: TestServer, credentials: Credentials, operation: string, inner: string, headers = ''): Promise<SoapAnswer> {
  const body = `<c:${operation} xmlns:c="${CM}">${inner}</c:${operation}>`;
  const answer = await postRaw(`${server.baseUrl}/soap/ChangeManager`, envelope(body, securityHeader(credentials) + headers), '1.1', { soapaction: `"${CM}#${operation}"` });
  const fault = /<(?:\w+:)?code>([^<]*)<\/(?:\w+:)?code>/.exec(answer.body)?.[1];
  return {
    status: answer.status,
    body: answer.body,
    fault: answer.body.includes('Fault>') ? fault : undefined,
    field: /<(?:\w+:)?field>([^<]*)<\/(?:\w+:)?field>/.exec(answer.body)?.[1],
    reason: /<faultstring[^>]*>([^<]*)</.exec(answer.body)?.[1],
  };
}

/** The text of the first element of that local name in an answer. */
export function textOf(xml: string, name: string): string | undefined {
  return new RegExp(`<(?:\\w+:)?${name}>([^<]*)</(?:\\w+:)?${name}>`).exec(xml)?.[1];
}

/** Every text of elements of that local name. */
export function textsOf(xml: string, name: string): string[] {
  return [...xml.matchAll(new RegExp(`<(?:\\w+:)?${name}>([^<]*)</(?:\\w+:)?${name}>`, 'g'))].map((m) => m[1] ?? '');
}

/** A desired change as SubmitChangeRequest carries it. */
export function changeXml(operation: string, component: string, target: { system?: string; role?: string; cluster?: string }, version?: string, parameters: Record<string, string> = {}): string {
  const params = Object.entries(parameters);
  return (
    `<c:change><c:operation>${operation}</c:operation><c:component>${escapeXml(component)}</c:component>` +
    (version === undefined ? '' : `<c:version>${escapeXml(version)}</c:version>`) +
    (params.length === 0 ? '' : `<c:parameters>${params.map(([n, v]) => `<c:parameter><c:name>${escapeXml(n)}</c:name><c:value>${escapeXml(v)}</c:value></c:parameter>`).join('')}</c:parameters>`) +
    `<c:target>${Object.entries(target).map(([k, v]) => `<c:${k}>${escapeXml(v ?? '')}</c:${k}>`).join('')}</c:target></c:change>`
  );
}
