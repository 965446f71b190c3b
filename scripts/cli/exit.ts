/**
 * Exit codes of the workflow commands, within what `runCli` (provisor.ts)
 * knows: a CommanderError ends the command with code 2 and no message of its
 * own, any other error with its message and code 1.
 *
 * - 0: done (the instance COMPLETED, the plan is valid);
 * - 1: the instance ended otherwise (FAULTED, TERMINATED), the demo sites do
 *   not answer;
 * - 2: the caller's mistake (an invalid plan, a missing file, an unknown
 *   instance or process);
 * - 130: interrupted (Ctrl-C) after the instance was cancelled.
 */
import { CommanderError } from 'commander';
import { ProcessDefinitionError } from '../../src/bpel/model';
import { ConfigError } from '../../src/config';
import { ProvisorError } from '../../src/errors';
import { SystemError } from '../../src/provisioning/systems';
import { WorkflowError } from '../../src/workflow/errors';

/** Ends a command with `exitCode`; the message goes to standard error (none when empty). */
export class ExitError extends Error {
  override readonly name = 'ExitError';
  constructor(
    readonly exitCode: 1 | 2 | 130,
    message: string,
  ) {
    super(message);
  }
}

/** Shorthand for the caller's mistakes (exit code 2). */
export function usage(message: string): ExitError {
  return new ExitError(2, message);
}

function callerMistake(err: unknown): err is Error {
  if (err instanceof ProvisorError) return err.sender;
  return err instanceof WorkflowError || err instanceof ProcessDefinitionError || err instanceof SystemError || err instanceof ConfigError;
}

/**
 * Wraps a command's action so its errors end it with the right code. Code
 * 130 exits at once (after the action's own clean-up ran): runCli has no way
 * to return it.
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      if (err instanceof CommanderError) throw err;
      const exitCode = err instanceof ExitError ? err.exitCode : callerMistake(err) ? 2 : undefined;
      if (exitCode === undefined) throw err;
      const message = (err as Error).message;
      if (exitCode === 130) {
        if (message !== '') process.stderr.write(`provisor: ${message}\n`);
        process.exit(130);
      }
      if (exitCode === 1) throw new Error(message);
      if (message !== '') process.stderr.write(`provisor: ${message}\n`);
      throw new CommanderError(2, 'provisor.failed', message);
    }
  };
}
