/**
 * The limits a process plan runs under and their defaults, as plain values:
 * the configuration reads them without loading the BPEL checks and the XML
 * DOM (see limits.ts for the checks).
 */
export interface PlanLimits {
  /** Deepest element nesting of a BPEL document. */
  readonly maxNestingDepth: number;
  /** Most branches of one parallel forEach. */
  readonly maxParallelBranches: number;
  /** Most iterations of one while, repeatUntil or sequential forEach. */
  readonly maxLoopIterations: number;
  /** Most activity executions (activity rows) of one instance. */
  readonly maxActivities: number;
  /** Most bytes all variables of one instance may hold, as stored. */
  readonly maxVariableBytes: number;
}

export const DEFAULT_PLAN_LIMITS: PlanLimits = {
  maxNestingDepth: 200,
  maxParallelBranches: 1000,
  maxLoopIterations: 10_000,
  maxActivities: 100_000,
  maxVariableBytes: 16 * 1024 * 1024,
};
