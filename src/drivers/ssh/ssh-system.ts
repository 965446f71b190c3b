/**
 * The `ssh` driver's side of the system port (../system-port.ts): the same
 * layout under a root on a remote host, reached over one pooled connection.
 *
 * - files are read and written over SFTP (state and configuration
 *   atomically, see remote-files.ts);
 * - a package archive is streamed over SFTP, its SHA-256 checked on the
 *   host against the manifest (or against what was sent), and unpacked
 *   with `tar` through a staging directory;
 * - hooks run with the environment they are given, as environment values,
 *   never on a command line (remote-command.ts);
 * - a started process runs in its own session with a pid file (pid and
 *   start time); Stop ends its process group (TERM, then KILL after the
 *   timeout).
 */
import { createReadStream } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { DriverError } from '../driver';
import type { ProcessRecord, SystemPort } from '../system-port';
import { REMOTE_PATH, mustRun, runRemote } from './remote-command';
import type { RemoteFiles } from './remote-files';

/** Started in its own session, output appended to the log; still running after the grace period, or the start failed. */
const LAUNCH = [
  'log=$1; pidfile=$2; grace=$3; shift 3',
  'setsid "$@" >> "$log" 2>&1 < /dev/null &',
  'p=$!',
  'st=$(cat /proc/$p/stat 2>/dev/null); st=${st##*) }; set -- $st; printf "%s\\n%s\\n" "$p" "${20:-}" > "$pidfile"',
  'sleep "$grace"',
  'state=$(cat /proc/$p/stat 2>/dev/null); state=${state##*) }; state=${state%% *}',
  'if [ -z "$state" ] || [ "$state" = Z ] || [ "$state" = X ]; then wait "$p"; echo "exited $?"; exit 0; fi',
  'echo "running $p"',
].join('\n');

/**
 * TERM to the group, KILL after the timeout (in tenths of a second). A zombie
 * has exited: where nothing reaps the host's orphans (an init that does not,
 * or none), the group's exited processes stay zombies and `kill -0` still
 * finds them, so the group counts as running only while a member is not one.
 */
export const TERMINATE = [
  'pid=$1; tenths=$2',
  'running() { for f in /proc/[0-9]*/stat; do read -r st < "$f" 2>/dev/null || continue; st=${st##*) }; set -- $st; if [ "$3" = "$pid" ] && [ "$1" != Z ] && [ "$1" != X ]; then return 0; fi; done; return 1; }',
  'kill -TERM -"$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || { echo exited; exit 0; }',
  'i=0',
  'while kill -0 -"$pid" 2>/dev/null && running; do',
  '  i=$((i+1)); if [ "$i" -gt "$tenths" ]; then kill -KILL -"$pid" 2>/dev/null; echo killed; exit 0; fi',
  '  sleep 0.1',
  'done',
  'echo exited',
].join('\n');

/** Running when the pid is alive, not a zombie, and started when the pid file says (pids are reused). */
const PROBE = 'st=$(cat /proc/$1/stat 2>/dev/null) || { echo gone; exit 0; }; st=${st##*) }; set -- $st; if [ "$1" = Z ] || [ "$1" = X ]; then echo gone; else echo "alive ${20:-}"; fi';

/** Prints `listening` when the process holds a TCP socket in the LISTEN state (0A). */
const LISTENING = [
  'inodes=$(ls -l /proc/$1/fd 2>/dev/null | sed -n "s/.*socket:\\[\\([0-9]*\\)\\].*/\\1/p")',
  'for i in $inodes; do',
  '  if awk -v i="$i" \'$4 == "0A" && $10 == i { found = 1 } END { exit !found }\' /proc/$1/net/tcp /proc/$1/net/tcp6 2>/dev/null; then echo listening; exit 0; fi',
  'done',
].join('\n');

/** Checks the archive on the host, then unpacks it through a staging directory. */
const UNPACK = [
  'archive=$1; target=$2; staging=$3; want=$4',
  'got=$(sha256sum -- "$archive" | cut -d" " -f1)',
  'if [ "$got" != "$want" ]; then rm -f -- "$archive"; echo "checksum mismatch: expected $want, the host has $got" >&2; exit 3; fi',
  'rm -rf -- "$staging" && mkdir -p -- "$staging" || exit 4',
  'if ! tar -xzf "$archive" -C "$staging" --no-same-owner; then rm -rf -- "$staging" "$archive"; exit 4; fi',
  'rm -f -- "$archive"; rm -rf -- "$target" && mv -- "$staging" "$target"',
].join('\n');

const POLL_MS = 50;

/** The limits the port's commands run with. */
export interface SshSystemSettings {
  readonly hookTimeoutMs: number;
  readonly outputLimitBytes: number;
}

/** The port of the remote system whose files are `files`. */
export function sshSystem(files: RemoteFiles, settings: SshSystemSettings): SystemPort {
  const { connection } = files;

  async function running(pidFile: string): Promise<ProcessRecord | undefined> {
    const text = await files.readFile(pidFile);
    if (text === undefined) return undefined;
    const [pidLine, startLine] = text.split('\n');
    const pid = Number(pidLine);
    if (!Number.isSafeInteger(pid) || pid <= 1) return undefined;
    const recorded = startLine?.trim() ?? '';
    const alive = await probe(pid);
    if (alive === undefined) return undefined;
    const record = recorded === '' ? { pid } : { pid, startTime: recorded };
    return recorded === '' || alive === '' || alive === recorded ? record : undefined;
  }

  /** The process's start time ('' when unknown), or undefined when it is gone. */
  async function probe(pid: number): Promise<string | undefined> {
    const output = await mustRun(connection, { cwd: files.root, argv: ['/bin/sh', '-c', PROBE, 'provisor', String(pid)], what: 'checking a process' });
    return /^alive ?(\S*)$/m.exec(output)?.[1];
  }

  async function terminate(record: ProcessRecord, timeoutMs: number, label: string): Promise<'exited' | 'killed'> {
    const output = await mustRun(connection, {
      cwd: files.root,
      argv: ['/bin/sh', '-c', TERMINATE, 'provisor', String(record.pid), String(Math.ceil(timeoutMs / 100))],
      what: `stopping ${label}`,
      timeoutMs: timeoutMs + 30_000,
    });
    return output.includes('killed') ? 'killed' : 'exited';
  }

  async function logTail(logFile: string): Promise<string> {
    return (await files.readFile(logFile))?.trimEnd().split('\n').slice(-5).join('\n') ?? '';
  }

  return {
    system: files.system,
    files,
    async unpack(archive, manifest, componentDir, signal) {
      const { version, sha256 } = manifest;
      await files.ensureDirectory(componentDir);
      const nonce = randomBytes(6).toString('hex');
      const remoteArchive = `${componentDir}/.upload-${version}-${nonce}.tar.gz`;
      const sent = await files.upload(createReadStream(archive), remoteArchive, signal);
      if (sha256 !== undefined && sent !== sha256) {
        await files.remove(remoteArchive);
        throw new DriverError('Internal', `archive ${manifest.archive} of ${manifest.name} ${version} does not match its sha256 (expected ${sha256}, read ${sent})`);
      }
      const result = await runRemote(connection, {
        cwd: componentDir,
        argv: ['/bin/sh', '-c', UNPACK, 'provisor', remoteArchive, `${componentDir}/${version}`, `${componentDir}/.unpack-${version}-${nonce}`, sha256 ?? sent],
        env: { PATH: REMOTE_PATH, LANG: 'C' },
        what: `unpacking ${manifest.archive}`,
        timeoutMs: settings.hookTimeoutMs,
        outputLimit: settings.outputLimitBytes,
        signal,
      });
      if (result.code !== 0) {
        throw new DriverError('Internal', `unpacking ${manifest.archive} on system ${files.system} failed: ${result.lastError || `exit code ${result.code}`}`, {
          output: result.output,
        });
      }
      return `copied ${manifest.archive} over SFTP (sha256 ${sent.slice(0, 12)}…) and unpacked it into ${files.shown(componentDir)}/${version}`;
    },
    async removeComponent(componentDir) {
      await files.remove(path.posix.join(componentDir, 'state.json'));
      await files.remove(componentDir);
    },
    async runHook(run) {
      const what = `${run.hook} hook of ${run.label}`;
      const result = await runRemote(connection, {
        cwd: run.packageDir,
        env: run.env,
        argv: [
          '/bin/sh',
          '-c',
          'if [ -f "$1" ]; then exec /bin/sh "$1"; fi; echo "$1 is missing from the package" >&2; exit 127',
          'provisor',
          path.posix.join(run.packageDir, run.script),
        ],
        what,
        timeoutMs: run.timeoutMs,
        outputLimit: run.outputLimit,
        signal: run.signal,
      });
      if (result.code !== 0) {
        throw new DriverError('HookFailed', `${what} exited with code ${result.code}${result.lastError === '' ? '' : `: ${result.lastError}`}`, { output: result.output });
      }
      return result.output;
    },
    async launch(spec) {
      const [program] = spec.command;
      if (program === undefined) throw new DriverError('InvalidState', `${spec.label} has an empty start command`);
      await files.ensureDirectory(path.posix.dirname(spec.logFile));
      await files.ensureDirectory(path.posix.dirname(spec.pidFile));
      const result = await runRemote(connection, {
        cwd: spec.cwd,
        env: spec.env,
        argv: [
          '/bin/sh',
          '-c',
          LAUNCH,
          'provisor',
          spec.logFile,
          spec.pidFile,
          (spec.startupGraceMs / 1000).toFixed(3),
          ...spec.command.map((arg) => (arg === '$NODE' ? 'node' : arg)),
        ],
        what: `starting ${spec.label}`,
        timeoutMs: spec.startupGraceMs + settings.hookTimeoutMs,
        outputLimit: spec.outputLimit,
      });
      const answer = /^(running|exited) (\d+)$/m.exec(result.output);
      if (result.code !== 0 || answer === null) {
        throw new DriverError('Internal', `starting ${spec.label} on system ${files.system} failed: ${result.lastError || result.output.trim()}`, { output: result.output });
      }
      if (answer[1] === 'exited') {
        await files.remove(spec.pidFile);
        throw new DriverError('HookFailed', `${spec.label} exited with code ${answer[2]} during its start-up`, { output: await logTail(spec.logFile) });
      }
      const pid = Number(answer[2]);
      const record = (await running(spec.pidFile)) ?? { pid };
      if (spec.ready === undefined) return record;
      const deadline = Date.now() + spec.ready.timeoutMs;
      for (;;) {
        if ((await probe(pid)) === undefined) {
          await files.remove(spec.pidFile);
          throw new DriverError('HookFailed', `${spec.label} exited before it was ready (${spec.ready.what})`, { output: await logTail(spec.logFile) });
        }
        if (await spec.ready.check(pid)) return record;
        if (Date.now() >= deadline) {
          await terminate(record, 2000, spec.label).catch(() => undefined);
          await files.remove(spec.pidFile);
          throw new DriverError('HookFailed', `${spec.label} was not ready (${spec.ready.what}) within ${Math.round(spec.ready.timeoutMs / 1000)} s; it was stopped`, {
            output: await logTail(spec.logFile),
          });
        }
        // Node's timer: a real remote process becomes ready in real time.
        await delay(POLL_MS);
      }
    },
    running,
    terminate,
    async acceptsConnections(pid) {
      const output = await mustRun(connection, { cwd: files.root, argv: ['/bin/sh', '-c', LISTENING, 'provisor', String(pid)], what: 'checking a listening port' });
      return output.includes('listening');
    },
  };
}
