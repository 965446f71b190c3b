import type { IncomingMessage } from 'node:http';
import zlib from 'node:zlib';
import { ProvisorError } from '../errors';

/**
 * Reads a request body with a cap that holds after decompression (a gzip
 * bomb stops at the limit, not at the end of its expansion) and a deadline
 * for the whole body.
 */
export function readBody(req: IncomingMessage, maxBytes: number, timeoutMs: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase().trim();
  if (encoding === 'identity' && Number.isFinite(declared) && declared > maxBytes) {
    return Promise.reject(new ProvisorError('BodyTooLarge', `the request body has ${declared} bytes; the limit is ${maxBytes}`));
  }
  let source: NodeJS.ReadableStream;
  if (encoding === 'identity') source = req;
  else if (encoding === 'gzip' || encoding === 'x-gzip') source = req.pipe(zlib.createGunzip());
  else if (encoding === 'deflate') source = req.pipe(zlib.createInflate());
  else return Promise.reject(new ProvisorError('UnsupportedMediaType', `content encoding "${encoding}" is not supported (use identity, gzip or deflate)`));

  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (err: Error | undefined, body?: Buffer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err !== undefined) {
        if (source !== req) (source as zlib.Gunzip).destroy();
        req.unpipe();
        req.resume();
        reject(err);
      } else {
        resolve(body ?? Buffer.alloc(0));
      }
    };
    // Node's timer: a real socket's body; the timeout protects the process, not service time.
    const timer = setTimeout(() => finish(new ProvisorError('BodyTimeout', `the request body did not arrive within ${timeoutMs} ms`)), timeoutMs);
    source.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        finish(new ProvisorError('BodyTooLarge', `the request body is over the limit of ${maxBytes} bytes${source === req ? '' : ' once decompressed'}`));
        return;
      }
      chunks.push(chunk);
    });
    source.on('end', () => finish(undefined, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size)));
    source.on('error', (err: Error) => finish(source === req ? err : new ProvisorError('MalformedXml', `the ${encoding} body could not be decompressed: ${err.message}`)));
    req.on('aborted', () => finish(new Error('client aborted the request')));
  });
}
