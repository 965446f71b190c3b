/**
 * `provisor schedule FILE.sm…`: runs the change manager's scheduler on
 * PSPLIB-format instances, one after another, and prints each plan. With
 * `--json`, one JSON object per line and file:
 * `{"file", "makespan", "lowerBound", "starts": {"<job number>": start}, "schedules", "elapsedMs"}`.
 * Every file is read and parsed before the first is scheduled, so a missing
 * or malformed one fails the command (exit code 2) before any output.
 */
import fs from 'node:fs';
import { type Command, InvalidArgumentError } from 'commander';
import { parsePsplib, psplibProblem, PsplibFormatError } from '../../src/changemanager/psplib';
import { schedule, type SchedulingProblem } from '../../src/changemanager/scheduler';
import { loadConfig } from '../../src/config';
import { action, usage } from './exit';

interface ScheduleOptions {
  readonly timeLimit?: number;
  readonly seed?: number;
  readonly json?: boolean;
}

function seconds(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a number of seconds above 0');
  return n;
}

function seed(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 0xffff_ffff) throw new InvalidArgumentError('must be a whole number from 0 to 4294967295');
  return Number(value);
}

function readInstance(file: string): SchedulingProblem {
  let text: string;
  try {
    text = fs.readFileSync(file, 'latin1');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw usage(code === 'ENOENT' ? `${file}: no such file` : `${file}: cannot be read (${code ?? (err as Error).message})`);
  }
  try {
    return psplibProblem(parsePsplib(text));
  } catch (err) {
    if (err instanceof PsplibFormatError) throw usage(`${file}: not a PSPLIB .sm instance: ${err.message}`);
    throw err;
  }
}

export function addScheduleCommand(program: Command): void {
  program
    .command('schedule <files...>')
    .description('schedule PSPLIB-format (.sm) instances with the change manager\'s scheduler and print each plan')
    .option('--time-limit <seconds>', 'time budget per instance (default: the scheduler setting, 1 s)', seconds)
    .option('--seed <n>', 'seed of the search (default: the scheduler setting, 1)', seed)
    .option('--json', 'print one JSON object per line and file')
    .action(
      action(async (files: string[], opts: ScheduleOptions) => {
        const config = loadConfig();
        const problems = files.map((file) => ({ file, problem: readInstance(file) }));
        for (const { file, problem } of problems) {
          const plan = schedule(problem, {
            seed: opts.seed ?? config.scheduler.seed,
            timeLimitMs: opts.timeLimit === undefined ? config.scheduler.timeLimitMs : Math.round(opts.timeLimit * 1000),
          });
          if (opts.json === true) {
            const line = { file, makespan: plan.makespan, lowerBound: plan.lowerBound.makespan, starts: plan.starts, schedules: plan.search.schedules, elapsedMs: plan.search.elapsedMs };
            process.stdout.write(`${JSON.stringify(line)}\n`);
          } else {
            const status = plan.provenOptimal ? 'optimal' : `at most ${(((plan.makespan - plan.lowerBound.makespan) / plan.lowerBound.makespan) * 100).toFixed(1)}% above the optimum`;
            process.stdout.write(`${file}: makespan ${plan.makespan}, lower bound ${plan.lowerBound.makespan} (${status}); ${plan.search.schedules} schedules in ${plan.search.elapsedMs} ms\n`);
          }
        }
      }),
    );
}
