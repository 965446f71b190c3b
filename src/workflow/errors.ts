/** A refused workflow request: its code says which kind of refusal (the wrappers map each to a SOAP fault), its message what was wrong. */
export class WorkflowError extends Error {
  override readonly name = 'WorkflowError';
  constructor(
    readonly code: 'InvalidProcess' | 'UnknownProcess' | 'UnknownInstance' | 'InvalidInput' | 'DestinationDenied' | 'InvalidState' | 'NoMatchingInstance',
    message: string,
  ) {
    super(message);
  }
}
