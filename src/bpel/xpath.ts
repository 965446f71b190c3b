/**
 * The expression and variable API the interpreter uses, in one place:
 * XPath 1.0 evaluation with BPEL variable access (expression.ts), `<assign>`
 * and variable initialisation (assign.ts), and building and storing variable
 * values (variable-value.ts).
 */
export {
  BPEL4WS_NS,
  PROVISOR_FUNCTIONS_NS,
  analyzeExpression,
  describeExpression,
  evaluate,
  evaluateBoolean,
  evaluateDeadline,
  evaluateDuration,
  evaluateJoinCondition,
  evaluateNumber,
  evaluateQuery,
  evaluateString,
  evaluateUnsignedInt,
  numberToString,
  type EvaluationOptions,
  type ExpressionAnalysis,
  type ExpressionReference,
  type VariableScope,
  type XPathResult,
} from './expression';
export { executeAssign, executeCopy, initialValue, type MutableVariableScope } from './assign';
export { cloneValue, deserializeValue, elementValue, messageValue, serializeValue, simpleValue, standalone } from './variable-value';
export { parseElement } from '../xml/dom';
export { copyFromParts, messageFromParts } from './message-parts';
