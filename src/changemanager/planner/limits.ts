/** How large a request the planner accepts, so that no request can take the planner (or the engine running its plan) down. */
export const PLANNER_LIMITS = {
  /** Desired changes in one request. */
  maxChanges: 200,
  /** Tasks after expansion (targets, requirements, lifecycle, dependents, policies). */
  maxTasks: 5_000,
  /** Precedences after expansion, request and fragments included. */
  maxPrecedences: 50_000,
  /** Parameters of one change, and the length of a name, value or version text. */
  maxParameters: 100,
  maxTextLength: 256,
  /** Depth of transitive requirement installs. */
  maxRequirementDepth: 32,
  /** Largest lag, in seconds (30 days). */
  maxLagSeconds: 30 * 24 * 3600,
  /** How far ahead maintenance windows are expanded at most, in days. */
  maxHorizonDays: 366,
  /** Tasks and precedences of one saved fragment. */
  maxFragmentTasks: 1_000,
} as const;
