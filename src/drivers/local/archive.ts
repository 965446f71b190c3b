/**
 * Package archives (`.tar.gz`), packed and unpacked with the system `tar`
 * (run without a shell). Repositories are trusted like the hooks their
 * packages run; GNU and BSD tar both refuse `..` members on extraction.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { promisify } from 'node:util';
import { DriverError } from '../driver';

const execFileAsync = promisify(execFile);

/**
 * Unpacks `archive` into the existing directory `targetDir`.
 * @throws DriverError `Internal` (not retryable) with tar's message.
 */
export async function unpackArchive(archive: string, targetDir: string, signal?: AbortSignal): Promise<void> {
  try {
    await execFileAsync('tar', ['-xzf', archive, '-C', targetDir, '--no-same-owner'], {
      signal,
      maxBuffer: 1024 * 1024,
    });
  } catch (error) {
    throw tarFailure(`unpacking ${archive}`, error);
  }
}

/** Packs the contents of `sourceDir` (not the directory itself) into `archive`. */
export async function packDirectory(sourceDir: string, archive: string): Promise<void> {
  try {
    await execFileAsync('tar', ['-czf', archive, '-C', sourceDir, '.'], { maxBuffer: 1024 * 1024 });
  } catch (error) {
    throw tarFailure(`packing ${sourceDir}`, error);
  }
}

/** The hex SHA-256 of a file, streamed. */
export function sha256OfFile(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('error', reject)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve(hash.digest('hex')));
  });
}

function tarFailure(what: string, error: unknown): DriverError {
  if (error instanceof Error && error.name === 'AbortError') {
    return new DriverError('Cancelled', `${what} was cancelled`, { cause: error });
  }
  const stderr =
    typeof error === 'object' && error !== null && 'stderr' in error ? String((error as { stderr: unknown }).stderr) : '';
  const detail = stderr.trim().split('\n').pop() || (error instanceof Error ? error.message : String(error));
  return new DriverError('Internal', `tar failed ${what}: ${detail}`, { retryable: false, cause: error });
}
