/**
 * What a customer is told when an order fails: the reason in plain words
 * ("volume "vol1" already exists in account "acme""), without the parts
 * that are for admins: the fault's qualified name, the plan's wording
 * around the provisioning request, the request id, the hook and its exit
 * code. Admins see the outcome as recorded.
 */

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
/** `{urn:…}operationFailed: ` or `st:operationFailed: ` at the start. */
const FAULT_NAME = /^(?:\{[^}]*\}[A-Za-z_][\w.-]*|[A-Za-z_][\w.-]*:[A-Za-z_][\w.-]*):(?:\s+|$)/;
/** `activity /process/sequence/if/throw "failOnPurpose" threw {urn:…}requestedFailure`: a fault without a message. */
const BARE_THROW = /^activity \S+(?: "[^"]*")? threw (?:\{[^}]*\})?([\w.-]+:)?([\w.-]+)\s*$/;
/** `activity /process/… "name": ` in front of a message. */
const ACTIVITY = /^activity \/\S*(?: "[^"]*")?:\s+/;
/** `configure hook of storage-pool 1.0.0 exited with code 2: ` (the hook's own last line follows). */
const HOOK_FAILURE = /\b[a-z]+ hook of \S+ \S+ exited with code \d+:\s+/g;
/** `createVolume on pool1 ended COMPLETED_FAILURE (request …): ` as the catalog's plans write it. */
const PLAN_WORDING = /^\w+ on \S+ ended [A-Z_]+ \(request [^)]*\):\s+/;
const INTERNAL = /^[\w.-]+ internal error: .*$/s;

/** The customer's version of a recorded outcome. */
export function plainReason(outcome: string): string {
  const bare = BARE_THROW.exec(outcome.trim());
  if (bare !== null) return `the order could not be carried out (${bare[2] ?? 'failed'})`;
  let text = outcome.trim().replace(FAULT_NAME, '').replace(ACTIVITY, '');
  const hooks = [...text.matchAll(HOOK_FAILURE)];
  const last = hooks[hooks.length - 1];
  if (last !== undefined) text = text.slice((last.index ?? 0) + last[0].length);
  else text = text.replace(PLAN_WORDING, '');
  if (INTERNAL.test(text)) return 'the order could not be carried out because of an internal error; our staff have the details';
  text = text.replace(/\s*\(request \s*\)/g, '').replace(UUID, '').replace(/\(request\s*\)/g, '').replace(/\s+/g, ' ').trim();
  return text === '' ? 'the order could not be carried out' : text;
}
