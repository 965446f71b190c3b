/**
 * Work-order types as the service uses them: the catalog's rows, cached for
 * a short while (a catalog load forgets the cache), and what a caller's
 * level lets it see and order.
 */
import type { DataSource } from 'typeorm';
import { WorkOrderType } from '../../entities';
import type { Principal } from '../auth/principal';
import type { Clock } from '../clock';
import { ProvisorError } from '../errors';
import type { ParameterDefinition, WorkOrderTypeView } from './api';
import { formatAmount } from './billing';

/** A type as the service uses it. */
export interface OrderType extends WorkOrderTypeView {
  readonly id: number;
  readonly priceMinor: number;
  readonly planName: string;
  readonly active: boolean;
}

const TYPE_CACHE_MS = 2000;

export class OrderTypes {
  private cache: { at: number; byName: Map<string, OrderType> } | undefined;

  constructor(
    private readonly dataSource: DataSource,
    /** The cache's age is read on it. */
    private readonly clock: Clock,
  ) {}

  /** Forgets the cached types (after a catalog load). */
  invalidate(): void {
    this.cache = undefined;
  }

  /** Every type, inactive ones included, by name. */
  async all(): Promise<Map<string, OrderType>> {
    const now = this.clock.now();
    if (this.cache !== undefined && now - this.cache.at < TYPE_CACHE_MS) return this.cache.byName;
    const rows = await this.dataSource.getRepository(WorkOrderType).find({ order: { minLevel: 'ASC', name: 'ASC' } });
    const byName = new Map(
      rows.map((t): [string, OrderType] => [
        t.name,
        {
          id: t.id,
          name: t.name,
          title: t.title,
          description: t.description,
          minLevel: t.minLevel,
          price: formatAmount(t.priceMinor),
          priceMinor: t.priceMinor,
          currency: t.currency,
          manual: t.manual,
          planName: t.planName,
          active: t.active,
          parameters: JSON.parse(t.parameters) as ParameterDefinition[],
        },
      ]),
    );
    this.cache = { at: now, byName };
    return byName;
  }

  /** The active types the caller's level allows (admins: all). */
  async list(caller: Principal): Promise<WorkOrderTypeView[]> {
    return [...(await this.all()).values()].filter((t) => t.active && allows(caller, t)).map(publicType);
  }

  async get(caller: Principal, name: string): Promise<WorkOrderTypeView> {
    return publicType(await this.orderable(caller, name));
  }

  /** The same answer for a type that does not exist and one above the caller's level: it does not learn which. */
  async orderable(caller: Principal, name: string): Promise<OrderType> {
    const type = (await this.all()).get(name);
    if (type === undefined || !type.active || !allows(caller, type)) {
      throw new ProvisorError('UnknownWorkOrderType', `there is no work-order type "${name}" you can order`, 'type');
    }
    return type;
  }
}

function allows(caller: Principal, type: OrderType): boolean {
  return caller.role === 'admin' || caller.level >= type.minLevel;
}

function publicType(t: OrderType): WorkOrderTypeView {
  return { name: t.name, title: t.title, description: t.description, minLevel: t.minLevel, price: t.price, currency: t.currency, manual: t.manual, parameters: t.parameters };
}
