import type { Element } from '@xmldom/xmldom';
import type { QName } from './model';

/**
 * The value of a BPEL variable.
 * - message: one entry per WSDL part; an element part holds its element, a
 *   type part its text;
 * - element: the variable's element;
 * - simple: a value of an XML Schema simple type.
 */
export type VariableValue =
  | { readonly kind: 'message'; readonly parts: ReadonlyMap<string, Element | string> }
  | { readonly kind: 'element'; readonly element: Element }
  | { readonly kind: 'simple'; readonly value: string | number | boolean };

/** A BPEL fault: thrown by `<throw>`, by a partner, or by the engine for the standard faults. */
export class BpelFault extends Error {
  override readonly name = 'BpelFault';
  constructor(
    readonly faultName: QName,
    message: string,
    readonly data?: VariableValue,
  ) {
    super(message);
  }
}

export const BPEL_FAULT_NS = 'http://docs.oasis-open.org/wsbpel/2.0/process/executable';

/** The WS-BPEL 2.0 standard faults the engine raises. */
export function standardFault(
  local:
    | 'selectionFailure'
    | 'invalidExpressionValue'
    | 'uninitializedVariable'
    | 'joinFailure'
    | 'subLanguageExecutionFault'
    | 'mismatchedAssignmentFailure'
    | 'missingReply'
    | 'missingRequest'
    | 'invalidVariables'
    | 'completionConditionFailure'
    | 'correlationViolation'
    | 'conflictingReceive'
    | 'conflictingRequest',
  message: string,
): BpelFault {
  return new BpelFault({ ns: BPEL_FAULT_NS, local }, message);
}
