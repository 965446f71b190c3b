import type { Principal } from '../auth/principal';
import type { Logger } from '../log';
import type { PartnerInvoker } from './interpreter';
import type { PartnerBinding } from './partner-bindings';
import type { WsdlCatalog } from './wsdl-catalog';

/**
 * How the runtime reaches partners: for each running instance, an invoker
 * over the plan's WSDL catalog and partner bindings, acting as the user who
 * started it. The runtime knows no transport; the composition root passes
 * the implementation (the SOAP wrappers: in-process for Provisor's own port
 * types, SOAP over HTTP for bound addresses).
 */
export interface PartnerInvokers {
  forInstance(plan: { readonly catalog: WsdlCatalog; readonly bindings: ReadonlyMap<string, PartnerBinding> }, principal: Principal, log: Logger): PartnerInvoker;
}
