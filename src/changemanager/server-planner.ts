/**
 * The planner the change manager uses in a server: the planning snapshot read
 * from the database and the package repositories (model-loader.ts), planned
 * by `planChange` on a worker thread (planning-thread.ts), so that a plan's
 * CPU time (up to its budget) never holds the server's event loop.
 */
import type { ChangePlanner, PlanningInput } from './change-manager';
import type { PlanOutcome } from './change-plan';
import { loadPlanningModel, type PlanningModelSources } from './model-loader';
import type { PlanningModel } from './planning-model';
import { PlanningThread } from './planning-thread';

/** `statusPollInterval`: the generated plans' wait between two GetStatus calls (xsd:duration). */
export function serverPlanner(sources: PlanningModelSources, statusPollInterval: string): ChangePlanner {
  const thread = new PlanningThread();
  return {
    loadModel(): Promise<PlanningModel> {
      return loadPlanningModel(sources);
    },
    plan(input: PlanningInput): Promise<PlanOutcome> {
      const policies = input.policies.map(({ name, kind, parameters, scopes, description }) => ({ name, kind, parameters, scopes, ...(description === undefined ? {} : { description }) }));
      // The process name carries the change id: each change deploys a process of its own.
      return thread.plan(input.model, input.request, policies, { seed: input.seed, timeLimitMs: input.timeBudgetMs, processName: `Change-${input.changeId}`, pollInterval: statusPollInterval });
    },
    close(): Promise<void> {
      return thread.close();
    },
  };
}
