import { Initial1795321598023 } from './1795321598023-Initial';
import { Workflow1795324057113 } from './1795324057113-Workflow';
import { QueueIndexes1795327472023 } from './1795327472023-QueueIndexes';
import { WorkOrders1795337930306 } from './1795337930306-WorkOrders';
import { EngineAffinity1796541913471 } from './1796541913471-EngineAffinity';
import { LoginState1796592787052 } from './1796592787052-LoginState';
import { PlanLimits1796593062647 } from './1796593062647-PlanLimits';
import { PlanDigests1796593258549 } from './1796593258549-PlanDigests';
import { ChangeRequests1796602886344 } from './1796602886344-ChangeRequests';
import { SystemFacts1796602999965 } from './1796602999965-SystemFacts';
import { SharedNodeState1796605453828 } from './1796605453828-SharedNodeState';
import { LongDocuments1796610000000 } from './1796610000000-LongDocuments';
import { NodeLeases1796620000000 } from './1796620000000-NodeLeases';
import { MessageBox1796630000000 } from './1796630000000-MessageBox';
import { HostFacts1796648593393 } from './1796648593393-HostFacts';
import { StartClaims1796660000000 } from './1796660000000-StartClaims';

/** Every migration, in order. New ones are written by `scripts/generate-migration.ts`. */
export const MIGRATIONS: Function[] = [Initial1795321598023, Workflow1795324057113, QueueIndexes1795327472023, WorkOrders1795337930306, EngineAffinity1796541913471, LoginState1796592787052, PlanLimits1796593062647, PlanDigests1796593258549, ChangeRequests1796602886344, SystemFacts1796602999965, SharedNodeState1796605453828, LongDocuments1796610000000, NodeLeases1796620000000, MessageBox1796630000000, HostFacts1796648593393, StartClaims1796660000000];
