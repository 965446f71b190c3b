import type { Role } from '../../entities';
import type { Principal } from '../auth/principal';
import type { Logger } from '../log';
import type { FieldReader } from './fields';
import type { XmlObject } from '../xml/writer';
import type { XmlElement } from '../xml/parser';

export interface OperationContext {
  readonly principal: Principal;
  /** The WS-Addressing MessageID, when the call carried one. */
  readonly messageId: string | undefined;
  readonly log: Logger;
}

export interface SoapOperation {
  /** Roles allowed to call it. */
  readonly roles: readonly Role[];
  /** True when the operation only reads: calling it again changes nothing (a workflow engine need not commit its state before calling it). */
  readonly readOnly?: boolean;
  /** Reads its fields (finishing with `fields.done()`), does the work, returns the response element's content. */
  handle(fields: FieldReader, ctx: OperationContext): Promise<XmlObject>;
  /**
   * Instead of `handle`, for operations whose messages are not Provisor's own
   * (deployed processes): takes the request element, returns the response
   * element's XML, or undefined for a one-way operation (HTTP 202, no body).
   */
  handleRaw?(element: XmlElement, ctx: OperationContext): Promise<string | undefined>;
}

/** A SOAP service of the wrapper layer: XML in, XML out, no business logic. */
export interface SoapService {
  /** `Software` → served at /soap/Software, WSDL wsdl/software.wsdl. */
  readonly name: string;
  readonly namespace: string;
  readonly wsdlFile: string;
  readonly operations: Readonly<Record<string, SoapOperation>>;
  /**
   * The operation a body element asks for, when the service's binding says
   * otherwise than "the element named like the operation, in the service's
   * namespace" (a deployed process: the element its input part names, or an
   * rpc wrapper). Undefined: no operation; `expected` then lists what is.
   */
  readonly operationOf?: (element: XmlElement) => string | undefined;
  /** What `operationOf` accepts, for the fault naming an unknown body element. */
  readonly expected?: string;
}
