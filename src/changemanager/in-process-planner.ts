/**
 * The planner the change manager uses in a server: the planning snapshot read
 * from the database and the package repositories (model-loader.ts), planned
 * by `planChange` in this process. The planner keeps to its time budget, so
 * the event loop is held at most that long (1 s by default) per plan.
 */
import type { Clock } from '../clock';
import type { ChangePlanner, PlanningInput } from './change-manager';
import type { PlanOutcome } from './change-plan';
import { loadPlanningModel, type PlanningModelSources } from './model-loader';
import { planChange } from './planner';
import type { PlanningModel } from './planning-model';

/** `statusPollInterval`: the generated plans' wait between two GetStatus calls (xsd:duration). */
export function inProcessPlanner(sources: PlanningModelSources, clock: Clock, statusPollInterval: string): ChangePlanner {
  return {
    loadModel(): Promise<PlanningModel> {
      return loadPlanningModel(sources);
    },
    plan(input: PlanningInput): Promise<PlanOutcome> {
      const policies = input.policies.map(({ name, kind, parameters, scopes, description }) => ({ name, kind, parameters, scopes, ...(description === undefined ? {} : { description }) }));
      // The process name carries the change id: each change deploys a process of its own.
      return Promise.resolve(planChange(input.model, input.request, policies, { seed: input.seed, timeLimitMs: input.timeBudgetMs, now: () => clock.now(), processName: `Change-${input.changeId}`, pollInterval: statusPollInterval }));
    },
  };
}
