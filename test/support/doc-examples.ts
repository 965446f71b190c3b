/**
 * Runnable examples of the README and docs/: each fenced `sh` block headed by
 * `<!-- example: NAME -->`, pasted into bash as a new operator would, against
 * a real server on a free port.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const PROJECT_ROOT = path.join(__dirname, '..', '..', '..');
const CLI = path.join(PROJECT_ROOT, 'scripts', 'provisor.js');

export interface DocExample {
  readonly name: string;
  readonly script: string;
}

/** The runnable examples of a Markdown text, in order. */
export function docExamples(text: string): DocExample[] {
  return [...text.matchAll(/<!-- example: ([\w-]+) -->\n```sh\n([\s\S]*?)```/g)].map((m) => ({ name: m[1] ?? '', script: m[2] ?? '' }));
}

/** The runnable examples of a file of the project (`README.md`, `docs/workorders.md`). */
export function examplesOf(file: string): DocExample[] {
  return docExamples(fs.readFileSync(path.join(PROJECT_ROOT, file), 'utf8'));
}

/**
 * One bash script of the examples, stopping at the first failing command,
 * with `npx provisor` the project's CLI, the server on `port` instead of
 * 8080, and the data folder `dataDir` instead of `data/`.
 */
export function exampleScript(examples: readonly DocExample[], port: number, dataDir: string): string {
  return ['set -eu', ...examples.map((e) => `echo "== ${e.name}"\n${e.script}`)]
    .join('\n')
    .replaceAll('npx provisor', `node ${JSON.stringify(CLI)}`)
    .replaceAll('127.0.0.1:8080', `127.0.0.1:${port}`)
    .replaceAll(' data/', ` ${dataDir}/`);
}

/** Runs a script in bash in the project's folder; resolves with its exit code and output. */
export function bash(script: string, env: Record<string, string | undefined>): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', script], { cwd: PROJECT_ROOT, env: { ...process.env, ...env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('close', (code) => resolve({ code, out, err }));
  });
}
