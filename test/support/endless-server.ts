import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface EndlessServer {
  readonly url: string;
  /** Bytes written so far (the socket took them; the reader may not have). */
  sent(): number;
  /** Settles when the first answer's connection is closed (the reader hung up). */
  readonly cut: Promise<void>;
  close(): Promise<void>;
}

/** A server on loopback that answers every request with an answer without end, for as long as the socket takes it. */
export async function endlessServer(pathname = '/', contentType = 'text/xml'): Promise<EndlessServer> {
  let sent = 0;
  let cut!: () => void;
  const cutPromise = new Promise<void>((resolve) => (cut = resolve));
  const server = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': contentType });
    const chunk = Buffer.alloc(16 * 1024, '<');
    const pump = (): void => {
      while (!res.destroyed && res.write(chunk)) sent += chunk.length;
      if (!res.destroyed) res.once('drain', pump);
    };
    res.once('close', cut);
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${pathname}`,
    sent: () => sent,
    cut: cutPromise,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
