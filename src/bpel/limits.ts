/**
 * The limits a process plan runs under, so that no plan can take the
 * workflow engine or the server down: checked at deploy where the plan shows
 * them (nesting depth, forEach counters written as literals), and while an
 * instance runs where it does not. A limit reached at run time is a BPEL
 * fault of the instance (docs/bpel.md, "Plan limits"), never an exception
 * of the engine.
 */
import type { Element } from '@xmldom/xmldom';
import type { Diagnostic, Expression, ForEach, Process } from './model';
import { BpelFault } from './values';
import { allActivities } from './walk';
import { lineOf, NodeType } from '../xml/dom';

export { DEFAULT_PLAN_LIMITS, type PlanLimits } from './plan-limits';
import type { PlanLimits } from './plan-limits';

/** The setting behind each limit, named in every message about it. */
export const LIMIT_SETTINGS: { readonly [K in keyof PlanLimits]: string } = {
  maxNestingDepth: 'PROVISOR_PLAN_MAX_DEPTH',
  maxParallelBranches: 'PROVISOR_PLAN_MAX_PARALLEL_BRANCHES',
  maxLoopIterations: 'PROVISOR_PLAN_MAX_ITERATIONS',
  maxActivities: 'PROVISOR_PLAN_MAX_ACTIVITIES',
  maxVariableBytes: 'PROVISOR_PLAN_MAX_VARIABLE_BYTES',
};

/** Namespace of the faults Provisor's engine raises itself (WS-BPEL has no standard fault for a resource limit). */
export const PROVISOR_FAULT_NS = 'urn:provisor:workflow:1';

/** The fault raised for each limit reached at run time. */
export const LIMIT_FAULTS = {
  maxParallelBranches: 'branchLimitExceeded',
  maxLoopIterations: 'iterationLimitExceeded',
  maxActivities: 'activityLimitExceeded',
  maxVariableBytes: 'variableLimitExceeded',
} as const satisfies Partial<Record<keyof PlanLimits, string>>;

export type RuntimeLimit = keyof typeof LIMIT_FAULTS;

/** The fault of a run-time limit, its message naming the activity, the limit and its setting. */
export function limitFault(limit: RuntimeLimit, limits: PlanLimits, what: string): BpelFault {
  return new BpelFault({ ns: PROVISOR_FAULT_NS, local: LIMIT_FAULTS[limit] }, `${what}: over the limit of ${limits[limit]} (${LIMIT_SETTINGS[limit]})`);
}

/**
 * The first element nested deeper than `maxDepth` (the document element is
 * depth 1), found without recursion so that no depth can overflow the stack.
 */
export function tooDeep(root: Element, maxDepth: number): { depth: number; line: number } | undefined {
  const stack: Array<{ node: Element; depth: number }> = [{ node: root, depth: 1 }];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    if (top.depth > maxDepth) return { depth: top.depth, line: lineOf(top.node) };
    for (let n = top.node.firstChild; n; n = n.nextSibling) if (n.nodeType === NodeType.ELEMENT) stack.push({ node: n as Element, depth: top.depth + 1 });
  }
  return undefined;
}

/**
 * The first element nested deeper than `maxDepth` in the document's text
 * (the document element is depth 1, as for {@link tooDeep}),
 * found in one pass over it before any parser builds a tree: the DOM parser
 * spends time growing with the square of the depth (a plan 5,000 deep took
 * 100 ms of the event loop before the tree could be measured).
 */
export function tooDeepText(text: string, maxDepth: number): { depth: number; line: number } | undefined {
  let depth = 0;
  let line = 1;
  let counted = 0;
  const lineAt = (index: number): number => {
    for (let i = text.indexOf('\n', counted); i !== -1 && i < index; i = text.indexOf('\n', i + 1)) {
      line++;
      counted = i + 1;
    }
    return line;
  };
  for (let lt = text.indexOf('<'); lt !== -1; lt = text.indexOf('<', lt + 1)) {
    const next = text.charCodeAt(lt + 1);
    if (text.startsWith('<!--', lt)) {
      const end = text.indexOf('-->', lt + 4);
      if (end === -1) return undefined;
      lt = end + 2;
    } else if (text.startsWith('<![CDATA[', lt)) {
      const end = text.indexOf(']]>', lt + 9);
      if (end === -1) return undefined;
      lt = end + 2;
    } else if (next === 0x3f /* ? */) {
      const end = text.indexOf('?>', lt + 2);
      if (end === -1) return undefined;
      lt = end + 1;
    } else if (next === 0x21 /* ! */) {
      const end = text.indexOf('>', lt + 2);
      if (end === -1) return undefined;
      lt = end;
    } else if (next === 0x2f /* / */) {
      depth--;
    } else {
      // A start tag: find its end outside quoted attribute values.
      let i = lt + 1;
      let quote = 0;
      for (; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (quote !== 0) {
          if (c === quote) quote = 0;
        } else if (c === 0x22 || c === 0x27) {
          quote = c;
        } else if (c === 0x3e /* > */) {
          break;
        }
      }
      if (i >= text.length) return undefined;
      // An empty-element tag sits one level down without opening one.
      const empty = text.charCodeAt(i - 1) === 0x2f; /* / */
      if (depth + 1 > maxDepth) return { depth: depth + 1, line: lineAt(lt) };
      if (!empty) depth++;
      lt = i;
    }
  }
  return undefined;
}

/** Most operators in one XPath expression (the XPath compiler recurses once per operator). */
export const MAX_EXPRESSION_OPERATORS = 1000;

const OPERATOR = /^(?:!=|<=|>=|[-+*|=<>]|(?:and|or|div|mod)(?![\w.-]))/;

/**
 * Why an XPath expression is too deep or too long for the recursive XPath
 * compiler and evaluator, or undefined when it is not: brackets nested deeper
 * than `maxDepth`, or more than MAX_EXPRESSION_OPERATORS operators. Measured
 * by one scan that skips string literals.
 */
export function expressionTooComplex(text: string, maxDepth: number): string | undefined {
  let depth = 0;
  let operators = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"' || c === "'") {
      const end = text.indexOf(c, i + 1);
      if (end === -1) return undefined;
      i = end;
    } else if (c === '(' || c === '[') {
      if (++depth > maxDepth) return `nests brackets deeper than the nesting limit of ${maxDepth} (${LIMIT_SETTINGS.maxNestingDepth})`;
    } else if (c === ')' || c === ']') {
      depth--;
    } else if ((i === 0 || !/[\w.-]/.test(text[i - 1] ?? '')) || !/[a-z]/.test(c ?? '')) {
      const match = OPERATOR.exec(text.slice(i, i + 4));
      if (match !== null) {
        if (++operators > MAX_EXPRESSION_OPERATORS) return `has more than ${MAX_EXPRESSION_OPERATORS} operators`;
        i += match[0].length - 1;
      }
    }
  }
  return undefined;
}

/** The value of an expression that is only an integer literal (`3`, `'3'`), else undefined. */
function literalInteger(expression: Expression): number | undefined {
  const match = /^\s*(?:(\d{1,15})|'\s*(\d{1,15})\s*'|"\s*(\d{1,15})\s*")\s*$/.exec(expression.text);
  const digits = match?.[1] ?? match?.[2] ?? match?.[3];
  return digits === undefined ? undefined : Number(digits);
}

function forEachProblem(activity: ForEach, limits: PlanLimits): Diagnostic | undefined {
  const start = literalInteger(activity.startCounter);
  const final = literalInteger(activity.finalCounter);
  if (start === undefined || final === undefined) return undefined;
  const count = Math.max(0, final - start + 1);
  const limit: RuntimeLimit = activity.parallel ? 'maxParallelBranches' : 'maxLoopIterations';
  if (count <= limits[limit]) return undefined;
  const what = activity.parallel ? 'parallel branches' : 'iterations';
  return {
    line: activity.line,
    message: `forEach ${activity.path}${activity.name === undefined ? '' : ` "${activity.name}"`} runs ${count} ${what} (counters ${start} to ${final}): over the limit of ${limits[limit]} (${LIMIT_SETTINGS[limit]})`,
  };
}

/** The limits a plan breaks on its face: forEach counters given as literals. */
export function checkStaticLimits(process: Process, limits: PlanLimits): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const activity of allActivities(process)) {
    if (activity.kind !== 'forEach') continue;
    const problem = forEachProblem(activity, limits);
    if (problem !== undefined) out.push(problem);
  }
  return out;
}
