/**
 * More than one accept per turn of the event loop.
 *
 * Since libuv 1.45 a listening socket accepts one waiting connection per
 * turn of the loop and relies on the next poll to report the rest. Under a
 * burst (hundreds of connections opened at once, most of them refused at a
 * connection cap a moment later) the kernel's accept queue then drains at
 * one connection per turn, and a turn busy with the connections already
 * accepted takes milliseconds: a health probe queued behind a few dozen
 * connections waits a quarter of a second before the server sees it.
 *
 * The listening socket is the same socket however many descriptors refer to
 * it, and each libuv handle on its own descriptor accepts one connection per
 * turn. So the server's listening handle is given to a short-lived helper
 * process over an IPC channel, which hands it back `copies` times: each
 * message carries a fresh descriptor (SCM_RIGHTS), each becomes a listening
 * handle of its own, and a turn accepts up to `copies + 1` connections.
 * Every accepted socket is given to the HTTP server's own 'connection'
 * listeners, so connection caps, timeouts and graceful close see all of
 * them. Without the helper (it failed to start) the server keeps its one
 * handle and works as before.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import type { Logger } from '../log';

/**
 * The helper: sends the handle it is given back as many times as asked and
 * waits to be ended (Node sends a handle only once the previous one is
 * acknowledged, so it cannot tell on its own when the last one arrived).
 */
const HELPER = `
process.once('message', (message, handle) => {
  for (let i = 0; i < message.copies; i++) process.send({ copy: i }, handle);
});
process.once('disconnect', () => process.exit(0));
`;

/** How long the helper may take to hand the copies back before the server goes on with one handle. */
const HELPER_TIMEOUT_MS = 10_000;

export interface AcceptHandles {
  /** Listening handles added besides the server's own (0 until they arrive, or when the helper failed). */
  readonly copies: () => number;
  /** Resolves once the copies are listening (or were given up). */
  readonly ready: Promise<void>;
  /** Stops the copies from accepting; the server's own handle is closed by the server, and the connections by the HTTP server. */
  close(): void;
}

/**
 * Adds `copies` listening handles on the socket `server` listens on. Call
 * it after the server is listening; it returns at once, and `ready` says
 * when the copies listen.
 */
export function widenAccept(server: net.Server, copies: number, logger: Logger): AcceptHandles {
  const listening: net.Server[] = [];
  let helper: ChildProcess | undefined;
  let closed = false;
  const handle = (server as unknown as { _handle: unknown })._handle;
  const ready =
    copies <= 0 || handle === null || handle === undefined
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          let settled = false;
          const settle = (problem?: string): void => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            if (problem !== undefined) logger.warn('the HTTP server accepts one connection per event-loop turn: its extra accept handles could not be made', { problem });
            helper?.kill();
            helper = undefined;
            resolve();
          };
          // Node's timer: a real helper process's answer, not service time.
          const timer = setTimeout(() => settle(`no answer from the helper within ${HELPER_TIMEOUT_MS} ms`), HELPER_TIMEOUT_MS);
          timer.unref();
          let child: ChildProcess;
          try {
            child = spawn(process.execPath, ['-e', HELPER], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'], serialization: 'json' });
          } catch (err) {
            settle((err as Error).message);
            return;
          }
          helper = child;
          child.once('error', (err) => settle(err.message));
          child.once('exit', (code, signal) => settle(listening.length === copies ? undefined : `the helper ended (${signal ?? code}) after ${listening.length} of ${copies}`));
          child.on('message', (_message: unknown, raw: unknown) => {
            if (typeof raw !== 'object' || raw === null) return;
            if (closed) {
              // Arrived after close: its descriptor is let go of, not listened on.
              (raw as { close?: () => void }).close?.();
              return;
            }
            // The handle comes back as a bare handle on a descriptor of its own, bound and listening already.
            const copy = new net.Server();
            copy.listen(raw);
            copy.on('connection', (socket: net.Socket) => server.emit('connection', socket));
            copy.on('error', (err) => logger.warn('an extra accept handle failed', { err: err.message }));
            listening.push(copy);
            if (listening.length === copies) settle();
          });
          child.send({ copies }, handle as net.Server, (err) => {
            if (err !== null) settle(err.message);
          });
        });
  return {
    copies: () => listening.length,
    ready,
    close() {
      closed = true;
      helper?.kill();
      // Closing the handles stops their accepting at once; the connections they accepted belong
      // to the HTTP server, which ends them (a copy's close callback would wait for them to end).
      for (const copy of listening.splice(0)) copy.close();
    },
  };
}
