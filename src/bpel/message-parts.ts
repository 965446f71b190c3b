/**
 * `<toParts>` and `<fromParts>` (WS-BPEL 2.0 §10.3.1). A `<toParts>` builds
 * the anonymous message an invoke or a reply sends, and a `<fromParts>`
 * takes a received message apart: each `<toPart>` and `<fromPart>` acts as
 * a `<copy>` between a variable and a part of that anonymous message, with
 * the copy semantics of assign.ts (an element part takes the variable's
 * element, a type part its string value; a variable of a numeric or boolean
 * type keeps the part's text as a number or a boolean).
 */
import type { FromPart, QName, ToPart, VariableDeclaration } from './model';
import { executeCopy, type MutableVariableScope } from './assign';
import type { EvaluationOptions, VariableScope } from './expression';
import { BpelFault, type VariableValue } from './values';

/** The anonymous message's name in the copies: not an NCName, so no variable of the plan can have it. */
const ANONYMOUS = '(message)';

/**
 * The message a `<toParts>` builds: each part a copy of its variable.
 *
 * @param messageType the operation's message, when known (the anonymous variable's type)
 * @throws BpelFault as a `<copy>` from the variable would (an uninitialised variable is `bpel:uninitializedVariable`), naming the `<toPart>`
 */
export function messageFromParts(toParts: readonly ToPart[], messageType: QName | undefined, vars: VariableScope, extra?: EvaluationOptions): VariableValue {
  const declaration = anonymous(messageType, toParts[0]?.line ?? 0);
  let message: VariableValue = { kind: 'message', parts: new Map() };
  const scope: MutableVariableScope = {
    lookup: (name) => (name === ANONYMOUS ? { declaration, value: message } : vars.lookup(name)),
    set: (name, value) => {
      if (name === ANONYMOUS) message = value;
    },
  };
  for (const p of toParts) {
    naming(`<toPart part="${p.part}">`, () =>
      executeCopy({ line: p.line, from: { type: 'variable', variable: p.fromVariable }, to: { type: 'variable', variable: ANONYMOUS, part: p.part }, keepSrcElementName: false, ignoreMissingFromData: false }, scope, extra),
    );
  }
  return message;
}

/**
 * Copies each part a `<fromParts>` names into its variable, through `vars`
 * (which records the writes).
 *
 * @throws BpelFault as a `<copy>` from the part would (a part the message lacks is `bpel:uninitializedVariable`), naming the `<fromPart>`; then no variable is set
 */
export function copyFromParts(fromParts: readonly FromPart[], message: VariableValue, messageType: QName | undefined, vars: MutableVariableScope, extra?: EvaluationOptions): void {
  const declaration = anonymous(messageType, fromParts[0]?.line ?? 0);
  // All or nothing, like the assign it stands for: the variables are set once every part is copied.
  const copied = new Map<string, VariableValue>();
  const scope: MutableVariableScope = {
    lookup: (name) => {
      if (name === ANONYMOUS) return { declaration, value: message };
      const found = vars.lookup(name);
      return found === undefined ? undefined : { declaration: found.declaration, value: copied.get(name) ?? found.value };
    },
    set: (name, value) => copied.set(name, value),
  };
  for (const p of fromParts) {
    naming(`<fromPart part="${p.part}">`, () =>
      executeCopy({ line: p.line, from: { type: 'variable', variable: ANONYMOUS, part: p.part }, to: { type: 'variable', variable: p.toVariable }, keepSrcElementName: false, ignoreMissingFromData: false }, scope, extra),
    );
  }
  for (const [name, value] of copied) vars.set(name, value);
}

function anonymous(messageType: QName | undefined, line: number): VariableDeclaration {
  return { name: ANONYMOUS, line, messageType: messageType ?? { ns: '', local: 'message' } };
}

/** Runs a copy, its faults naming the `<toPart>` or `<fromPart>` instead of a `<copy>`. */
function naming(what: string, copy: () => void): void {
  try {
    copy();
  } catch (err) {
    if (!(err instanceof BpelFault) || !err.message.startsWith('<copy>')) throw err;
    throw new BpelFault(err.faultName, `${what}${err.message.slice('<copy>'.length).replaceAll(`<from> variable "${ANONYMOUS}"`, 'the message').replaceAll(`variable "${ANONYMOUS}"`, 'the message')}`, err.data);
  }
}
