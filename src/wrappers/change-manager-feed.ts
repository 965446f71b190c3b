import { arm, type Clock } from '../clock';
import type { Logger } from '../log';
import type { SoapClient } from '../soap/client';
import type { WorkflowObserver } from '../workflow/interpreter';
import { writeElement, type XmlObject } from '../xml/writer';

export const CHANGE_MANAGER_NS = 'urn:provisor:changemanager:1';

/**
 * Sends the workflow engine's status messages and temporal-constraint
 * violations to the change manager endpoint as one-way SOAP messages
 * (`ReportWorkflowStatus`, `ReportViolation` of wsdl/changemanager.wsdl).
 * Best effort: a few retries with back-off, in order per instance, never
 * blocking the interpreter. Without an endpoint the messages are only logged.
 */
/** Hears what the notifier hears, in this process (the command line's progress view). */
export type WorkflowListener = Partial<Pick<WorkflowObserver, 'activity' | 'alarm' | 'instance'>>;

export class ChangeManagerNotifier implements WorkflowObserver {
  private chain: Promise<void> = Promise.resolve();
  private pending = 0;
  private readonly listeners = new Set<WorkflowListener>();

  constructor(
    private readonly endpoint: string | undefined,
    /** The SOAP client (policed, capped; the sender's default deadline bounds each attempt). */
    private readonly client: SoapClient,
    /** The back-off between attempts is this clock's time. */
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly processNameOf: (instanceId: string) => string,
    private readonly maxPending = 10_000,
  ) {}

  /** True when an activity transition is sent, logged or listened to: otherwise the engine need not report them. */
  activitiesWanted(): boolean {
    if (this.endpoint !== undefined || this.log.isDebugEnabled()) return true;
    for (const listener of this.listeners) if (listener.activity !== undefined) return true;
    return false;
  }

  /** Tells `listener` of every transition, alarm and end from now until the returned function is called. */
  listen(listener: WorkflowListener): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  activity(event: Parameters<WorkflowObserver['activity']>[0]): void {
    for (const listener of this.listeners) listener.activity?.(event);
    // Every activity transition of every instance comes here: without an endpoint and below debug, nothing is built.
    if (this.log.isDebugEnabled()) this.log.debug('activity', { instanceId: event.instanceId, key: event.key, state: event.state });
    if (this.endpoint === undefined) return;
    this.send('ReportWorkflowStatus', {
      instanceId: event.instanceId,
      processName: this.processNameOf(event.instanceId),
      status: 'RUNNING',
      activity: { path: event.key, kind: event.kind, name: event.name, state: event.state, time: event.at, fault: event.fault },
      time: event.at,
    });
  }

  alarm(event: Parameters<WorkflowObserver['alarm']>[0]): void {
    for (const listener of this.listeners) listener.alarm?.(event);
    this.log.warn('temporal constraint violated', { instanceId: event.instanceId, scope: event.scopeKey, alarm: event.alarmPath, dueAt: event.dueAt.toISOString() });
    this.send('ReportViolation', {
      instanceId: event.instanceId,
      processName: this.processNameOf(event.instanceId),
      scope: event.scopeKey,
      scopeName: event.scopeName,
      alarm: event.alarmPath,
      kind: event.kind,
      dueAt: event.dueAt,
      firedAt: event.firedAt,
    });
  }

  instance(event: Parameters<WorkflowObserver['instance']>[0]): void {
    for (const listener of this.listeners) listener.instance?.(event);
    this.log.info('instance status', { instanceId: event.instanceId, status: event.status });
    this.send('ReportWorkflowStatus', { instanceId: event.instanceId, processName: this.processNameOf(event.instanceId), status: event.status, time: event.at });
  }

  private send(operation: string, content: XmlObject): void {
    if (this.endpoint === undefined) return;
    if (this.pending >= this.maxPending) {
      this.log.warn('change manager notifications dropped: too many pending', { operation });
      return;
    }
    const endpoint = this.endpoint;
    const body = writeElement(CHANGE_MANAGER_NS, operation, content);
    this.pending++;
    this.chain = this.chain.then(async () => {
      for (let attempt = 1; attempt <= 3; attempt++) {
        try {
          await this.client.notify({ url: endpoint, action: `${CHANGE_MANAGER_NS}#${operation}`, body });
          break;
        } catch (err) {
          if (attempt === 3) this.log.warn('change manager notification failed', { operation, err: String(err) });
          else await new Promise<void>((resolve) => arm(this.clock, 200 * attempt, resolve, { unref: true }));
        }
      }
      this.pending--;
    });
  }

  /** Resolves once every queued notification has been sent or given up. */
  flush(): Promise<void> {
    return this.chain;
  }
}
