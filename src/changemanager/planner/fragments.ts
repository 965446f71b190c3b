/**
 * Reusable fragments: saved, parameterised task graphs a request can
 * instantiate. `instantiateFragment` checks a fragment and its arguments and
 * fills the placeholders, giving desired changes on named systems and the
 * precedences between them.
 */
import type { DesiredChange, FragmentUse } from '../change-plan';
import type { ActionPrecedence } from './graph';
import { PlanRejection } from './rejection';
import { validateFragment } from './validate-request';

export interface InstantiatedFragment {
  /** Each task as a change on one system, with its origin (`fragments[i].key`). */
  readonly changes: readonly { readonly origin: string; readonly change: DesiredChange }[];
  readonly precedences: readonly ActionPrecedence[];
}

/**
 * Fills a fragment's placeholders with the arguments. Rejects
 * (`InvalidFragment`) a fragment of a bad shape, a declared parameter without
 * a value and an argument the fragment does not declare.
 */
export function instantiateFragment(use: FragmentUse, at = 'fragments[0]'): InstantiatedFragment {
  const issues = validateFragment(use.fragment, `${at}.fragment`);
  if (issues.length > 0) throw new PlanRejection('InvalidFragment', issues.map((i) => `${i.path}: ${i.message}`).join('; '), [String((use.fragment as { name?: unknown }).name)]);
  const { fragment } = use;
  const missing = fragment.parameters.filter((p) => typeof use.arguments[p] !== 'string');
  if (missing.length > 0) throw new PlanRejection('InvalidFragment', `fragment "${fragment.name}": no value for ${missing.map((m) => `\${${m}}`).join(', ')}`, [fragment.name, ...missing]);
  const unknown = Object.keys(use.arguments).filter((a) => !fragment.parameters.includes(a));
  if (unknown.length > 0) throw new PlanRejection('InvalidFragment', `fragment "${fragment.name}" has no parameter ${unknown.map((u) => `"${u}"`).join(', ')}`, [fragment.name, ...unknown]);
  const fill = (text: string): string => text.replace(/\$\{([^}]*)\}/g, (_, name: string) => use.arguments[name] ?? '');
  const changes = fragment.tasks.map((t) => {
    const change: DesiredChange = {
      operation: t.operation,
      component: fill(t.component),
      target: { kind: 'system', system: fill(t.system) },
      ...(t.version !== undefined ? { version: fill(t.version) } : {}),
      ...(t.parameters !== undefined ? { parameters: Object.fromEntries(Object.entries(t.parameters).map(([k, v]) => [k, fill(v)])) } : {}),
    };
    return { origin: `${at}.${t.key}`, change };
  });
  const precedences = fragment.precedences.map((p) => ({ from: `${at}.${p.from}`, to: `${at}.${p.to}`, type: p.type ?? 'FS', lag: p.lag ?? 0 }));
  return { changes, precedences };
}
