/**
 * The e-mail order format (docs/email.md): the subject names the work-order
 * type, the plain-text body has one `name: value` line per parameter.
 * Pure functions, so the rules are tested without a mail server.
 */
import type { ParameterInput } from '../workorders/api';

/** What an order mail asks for, or why it cannot be read. */
export type OrderMailParse =
  | { readonly ok: true; readonly type: string; readonly parameters: readonly ParameterInput[] }
  | { readonly ok: false; readonly problems: readonly FormatProblem[] };

export interface FormatProblem {
  /** 1-based line of the body, absent for the subject or the mail as a whole. */
  readonly line?: number;
  readonly message: string;
}

const TYPE_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,99}$/;
const SUBJECT_PREFIX = /^work\s*order\s*:\s*/i;
const PARAMETER_LINE = /^\s*([A-Za-z_][A-Za-z0-9_.-]{0,99})\s*:[ \t]*(.*?)\s*$/;
/** "On Tue, 3 Mar 2026, Ann <ann@example.com> wrote:" and the like, before a quoted block. */
const ATTRIBUTION = /:\s*$/;
/** A quoted line is shown cut to this many characters in a problem. */
const SHOWN_LINE = 80;

/** The type a subject names: `CreateVolume` or `Work order: CreateVolume` (any case, surrounding blanks ignored). */
export function typeFromSubject(subject: string | undefined): string | FormatProblem {
  const text = (subject ?? '').replace(/\s+/g, ' ').trim().replace(SUBJECT_PREFIX, '');
  if (text === '') return { message: 'the subject is empty; it must name the work-order type, e.g. "Subject: CreateVolume"' };
  if (!TYPE_NAME.test(text)) return { message: `the subject "${shown(text)}" is not a work-order type name; it must be the type alone, e.g. "Subject: CreateVolume"` };
  return text;
}

/**
 * The parameters of a plain-text body. Blank lines are skipped; reading stops
 * at a signature separator (`-- `); quoted lines (`>`) and the attribution
 * line just before a quoted block are skipped. Every other line must be
 * `name: value`, and a name may appear once.
 */
export function parametersFromBody(text: string): { parameters: ParameterInput[]; problems: FormatProblem[] } {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const signature = lines.findIndex((line) => line === '-- ' || line === '--');
  const body = signature === -1 ? lines : lines.slice(0, signature);
  const parameters: ParameterInput[] = [];
  const problems: FormatProblem[] = [];
  const seen = new Map<string, number>();
  body.forEach((line, index) => {
    const number = index + 1;
    if (line.trim() === '' || isQuoted(line)) return;
    const match = PARAMETER_LINE.exec(line);
    if (match === null) {
      if (ATTRIBUTION.test(line) && nextContentIsQuoted(body, index)) return;
      problems.push({ line: number, message: `line ${number} "${shown(line.trim())}" is not a "name: value" line` });
      return;
    }
    const name = match[1] ?? '';
    const first = seen.get(name);
    if (first !== undefined) {
      problems.push({ line: number, message: `line ${number}: parameter "${name}" is given again (first on line ${first})` });
      return;
    }
    seen.set(name, number);
    parameters.push({ name, value: match[2] ?? '' });
  });
  return { parameters, problems };
}

/** The whole order: the subject's type and the body's parameters, or every format problem. */
export function parseOrderMail(subject: string | undefined, text: string | undefined): OrderMailParse {
  const type = typeFromSubject(subject);
  const problems: FormatProblem[] = typeof type === 'string' ? [] : [type];
  if (text === undefined) {
    problems.push({ message: 'the mail has no plain-text body; send the parameters as "name: value" lines in plain text' });
    return { ok: false, problems };
  }
  const body = parametersFromBody(text);
  problems.push(...body.problems);
  if (problems.length > 0 || typeof type !== 'string') return { ok: false, problems };
  return { ok: true, type, parameters: body.parameters };
}

function isQuoted(line: string): boolean {
  return /^\s*>/.test(line);
}

function nextContentIsQuoted(lines: readonly string[], index: number): boolean {
  for (let i = index + 1; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.trim() !== '') return isQuoted(line);
  }
  return false;
}

function shown(line: string): string {
  return line.length > SHOWN_LINE ? `${line.slice(0, SHOWN_LINE)}…` : line;
}
