/**
 * Shared test fixtures for the driver tests: temporary directories, systems
 * and contexts, free ports, a static HTTP server, small package
 * repositories built on the fly, and an engine-like record keeper.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  type ComponentRecord,
  DRIVER_ERROR_TYPES,
  DriverError,
  type DriverErrorType,
  type SystemDescriptor,
  type Task,
  type TaskContext,
  type TaskResult,
} from '../../src/drivers/driver';
import { packDirectory, sha256OfFile } from '../../src/drivers/local/archive';

/** A fresh directory under the OS temporary directory. */
export function makeTempDir(label: string): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), `provisor-${label}-`));
}

/** Removes a temporary directory tree. */
export function removeDir(dir: string | undefined): Promise<void> {
  return dir === undefined ? Promise.resolve() : rm(dir, { recursive: true, force: true });
}

/** A system of the local driver rooted at `root`. */
export function localSystem(name: string, root: string): SystemDescriptor {
  return { name, driver: 'local', options: { root } };
}

/** A task context; `signal` defaults to one that never aborts. */
export function contextFor(
  system: SystemDescriptor,
  repositories: readonly string[],
  extra: { signal?: AbortSignal; component?: ComponentRecord; requestId?: string } = {},
): TaskContext {
  return {
    system,
    repositories,
    signal: extra.signal ?? new AbortController().signal,
    requestId: extra.requestId ?? 'test-request',
    ...(extra.component === undefined ? {} : { component: extra.component }),
  };
}

/** A TCP port that was free a moment ago (listen on 0, close). */
export async function freePort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Expects the promise to reject with a DriverError of `type`, and returns it.
 */
export async function expectDriverError(promise: Promise<unknown>, type: DriverErrorType): Promise<DriverError> {
  let outcome: unknown;
  try {
    await promise;
  } catch (error) {
    outcome = error;
  }
  expect(outcome, `expected a DriverError of type ${type}`).to.be.instanceOf(DriverError);
  const error = outcome as DriverError;
  expect(DRIVER_ERROR_TYPES).to.include(error.type);
  expect(error.type, error.message).to.equal(type);
  return error;
}

/** A static file server over `dir` that records the paths it was asked for. */
export interface StaticServer {
  readonly url: string;
  readonly requests: string[];
  close(): Promise<void>;
}

/** Serves `dir` over HTTP on 127.0.0.1 (port 0) under `/repo/`. */
export async function serveDirectory(dir: string): Promise<StaticServer> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    requests.push(pathname);
    const file = path.join(dir, pathname.replace(/^\/repo\//, '/'));
    if (!pathname.startsWith('/repo/') || !file.startsWith(dir + path.sep)) {
      res.writeHead(403).end();
      return;
    }
    void readFile(file).then(
      (body) => res.writeHead(200, { 'Content-Length': body.length }).end(body),
      () => res.writeHead(404).end('not found'),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/repo`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A package for {@link buildFixtureRepository}: its manifest fields and files. */
export interface FixturePackage {
  readonly name: string;
  readonly version: string;
  readonly files: Readonly<Record<string, string>>;
  readonly hooks?: Readonly<Record<string, string>>;
  readonly start?: readonly string[];
  readonly dependencies?: readonly string[];
  /** Further manifest fields (requires, conflicts, provides, quiesce, durations). */
  readonly declarations?: Readonly<Record<string, unknown>>;
}

/**
 * Writes a package repository into `dir`: one archive per package and an
 * index.json (with checksums).
 */
export async function buildFixtureRepository(dir: string, packages: readonly FixturePackage[]): Promise<string> {
  await mkdir(dir, { recursive: true });
  const entries = [];
  for (const pkg of packages) {
    const source = await mkdtemp(path.join(os.tmpdir(), 'provisor-fixture-src-'));
    try {
      for (const [name, content] of Object.entries(pkg.files)) {
        await mkdir(path.dirname(path.join(source, name)), { recursive: true });
        await writeFile(path.join(source, name), content);
      }
      const archive = `${pkg.name}-${pkg.version}.tar.gz`;
      await packDirectory(source, path.join(dir, archive));
      entries.push({
        name: pkg.name,
        version: pkg.version,
        archive,
        sha256: await sha256OfFile(path.join(dir, archive)),
        dependencies: pkg.dependencies ?? [],
        hooks: pkg.hooks ?? {},
        ...(pkg.start === undefined ? {} : { start: pkg.start }),
        ...pkg.declarations,
      });
    } finally {
      await rm(source, { recursive: true, force: true });
    }
  }
  await writeFile(path.join(dir, 'index.json'), JSON.stringify({ packages: entries }, null, 2));
  return dir;
}

/**
 * Keeps component records the way the engine does (version, history, pid),
 * so a driver that relies on `ctx.component` sees what it would in service.
 */
export class RecordKeeper {
  private readonly records = new Map<string, ComponentRecord>();

  /** The record handed to the driver for the task, if the component is known. */
  recordFor(task: Task): ComponentRecord | undefined {
    return 'component' in task ? this.records.get(task.component) : undefined;
  }

  /** Updates the record from a successful result. */
  apply(task: Task, result: TaskResult): void {
    if (!('component' in task)) return;
    const before = this.records.get(task.component);
    if (task.operation === 'Uninstall') {
      this.records.delete(task.component);
      return;
    }
    const version = result.version ?? before?.version ?? '';
    let history = before?.history ?? [];
    if (task.operation === 'Rollback') history = history.slice(history.indexOf(version) + 1);
    else if (before !== undefined && version !== before.version) history = [before.version, ...history];
    const pid = result.pid === undefined ? (before?.pid ?? null) : result.pid;
    const state = pid === null ? (before?.state === 'RUNNING' ? 'STOPPED' : (before?.state ?? 'INSTALLED')) : 'RUNNING';
    this.records.set(task.component, { name: task.component, version, history, pid, state });
  }
}

/** Whether a process (group leader) is still alive and not a zombie. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^Z|^X/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return true;
  }
}

/** Polls until `check` is true or `timeoutMs` passes; returns the last answer. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 3000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Kills a process group, ignoring a group that is gone (test clean-up). */
export function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Gone already.
  }
}
