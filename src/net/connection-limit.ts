/**
 * Caps on the HTTP connections open at once: in all, and from one client
 * address. A connection over a cap is closed as it is accepted, before a
 * byte of it is read, so a flood of held or slow connections from one
 * address costs the server an accept and a close each and keeps nobody else
 * out. Behind a load balancer or proxy every client shares its address: turn
 * the per-address cap off there (0) and let the balancer limit per client.
 */
import type http from 'node:http';
import type net from 'node:net';
import type { Clock } from '../clock';
import type { Logger } from '../log';

export interface ConnectionLimits {
  /** Connections open at once, all addresses together; 0: no cap. */
  readonly maxConnections: number;
  /** Connections open at once from one client address; 0: no cap. */
  readonly maxConnectionsPerAddress: number;
}

export type RefusalReason = 'total' | 'address';

/** How often a refusing address is logged at most: a flood is one line per interval, not one per connection. */
const LOG_INTERVAL_MS = 10_000;

export class ConnectionLimiter {
  private open = 0;
  private readonly perAddress = new Map<string, number>();
  private readonly lastLogged = new Map<string, number>();

  constructor(
    private readonly limits: ConnectionLimits,
    private readonly options: { readonly clock: Clock; readonly logger: Logger; readonly onRefused?: (reason: RefusalReason) => void },
  ) {}

  /**
   * Counts the server's connections from now on and closes those over a cap.
   * The server's own 'connection' listeners (the HTTP one sets up a parser,
   * timers and buffers for every socket) are taken over and run only for the
   * connections admitted: in a flood, a refused connection costs an accept and
   * a close, not the set-up of an HTTP connection that is torn down at once.
   */
  attach(server: http.Server): void {
    const listeners = server.listeners('connection') as ((socket: net.Socket) => void)[];
    server.removeAllListeners('connection');
    server.on('connection', (socket: net.Socket) => {
      if (!this.admit(socket)) return;
      for (const listener of listeners) listener.call(server, socket);
    });
  }

  /** Connections open now from `address` (all addresses without one). */
  openConnections(address?: string): number {
    return address === undefined ? this.open : (this.perAddress.get(address) ?? 0);
  }

  /** Whether the connection is admitted; one over a cap is destroyed here. */
  private admit(socket: net.Socket): boolean {
    const address = socket.remoteAddress;
    if (address === undefined) {
      socket.destroy(); // already gone
      return false;
    }
    const fromAddress = this.perAddress.get(address) ?? 0;
    const reason: RefusalReason | null =
      this.limits.maxConnections > 0 && this.open >= this.limits.maxConnections
        ? 'total'
        : this.limits.maxConnectionsPerAddress > 0 && fromAddress >= this.limits.maxConnectionsPerAddress
          ? 'address'
          : null;
    if (reason !== null) {
      socket.destroy();
      this.options.onRefused?.(reason);
      this.logRefusal(address, reason);
      return false;
    }
    this.open += 1;
    this.perAddress.set(address, fromAddress + 1);
    socket.once('close', () => {
      this.open -= 1;
      const left = (this.perAddress.get(address) ?? 1) - 1;
      if (left <= 0) this.perAddress.delete(address);
      else this.perAddress.set(address, left);
    });
    return true;
  }

  private logRefusal(address: string, reason: RefusalReason): void {
    const now = this.options.clock.now();
    const key = `${reason} ${address}`;
    const last = this.lastLogged.get(key);
    if (last !== undefined && now - last < LOG_INTERVAL_MS) return;
    if (this.lastLogged.size > 10_000) this.lastLogged.clear();
    this.lastLogged.set(key, now);
    const limit = reason === 'total' ? this.limits.maxConnections : this.limits.maxConnectionsPerAddress;
    this.options.logger.warn(reason === 'total' ? 'HTTP connections refused: too many open' : 'HTTP connections refused: too many open from one address', {
      remoteAddress: address,
      limit,
    });
  }
}
