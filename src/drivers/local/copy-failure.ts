/** How a copy refused by Node's `fs.cp` is reported. */
import { DriverError } from '../driver';
import { errorCode } from '../path-jail';

/**
 * A refusal of Node's fs.cp (a directory onto a file, a file onto a
 * directory, a directory into itself: ERR_FS_CP_* codes) as the caller's
 * mistake, `InvalidParameter` prefixed with `what`; anything else unchanged.
 */
export function copyFailure(error: unknown, what: string): unknown {
  const code = errorCode(error);
  if (code !== undefined && code.startsWith('ERR_FS_CP_')) {
    const reason = REASONS[code] ?? (error instanceof Error ? error.message : String(error));
    return new DriverError('InvalidParameter', `${what}: ${reason}`, { cause: error });
  }
  return error;
}

/** The refusals said the same way on every driver (the `ssh` driver's copy says them too). */
const REASONS: Readonly<Record<string, string>> = {
  ERR_FS_CP_DIR_TO_NON_DIR: 'a directory cannot be copied onto a file',
  ERR_FS_CP_NON_DIR_TO_DIR: 'a file cannot be copied onto a directory (copy it to a path inside the directory)',
  ERR_FS_CP_EINVAL: 'a directory cannot be copied into itself',
};
