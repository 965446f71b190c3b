import { Account } from './account';
import { CallbackDelivery } from './callback-delivery';
import { ComponentEvent } from './component-event';
import { InstalledComponent } from './installed-component';
import { MaintenanceWindowRow } from './maintenance-window';
import { ManagedSystem } from './managed-system';
import { SystemRole } from './system-role';
import { PackageRepository } from './package-repository';
import { ProvisioningRequest } from './provisioning-request';
import { User } from './user';
import { BillableEvent } from './billable-event';
import { WorkOrder } from './work-order';
import { WorkOrderEvent } from './work-order-event';
import { WorkOrderType } from './work-order-type';
import { ActivityInstance } from './activity-instance';
import { LinkState } from './link-state';
import { LoginState } from './login-state';
import { ProcessDefinition } from './process-definition';
import { ProcessDocument } from './process-document';
import { ProcessInstance } from './process-instance';
import { ProcessTimer } from './process-timer';
import { ProcessVariable } from './process-variable';
import { ChangePlanPart, ChangeRequestRow } from './change-request';
import { ChangeFragmentRow, ChangePolicyRow } from './change-policy';

export { ActivityInstance, LinkState, ProcessDefinition, ProcessDocument, ProcessInstance, ProcessTimer, ProcessVariable };
export { Account, CallbackDelivery, ComponentEvent, InstalledComponent, LoginState, ManagedSystem, PackageRepository, ProvisioningRequest, User };
export { BillableEvent, WorkOrder, WorkOrderEvent, WorkOrderType };
export { ChangeFragmentRow, ChangePlanPart, ChangePolicyRow, ChangeRequestRow };
export { MaintenanceWindowRow, SystemRole };
export * from './user';
export * from './work-order';
export * from './provisioning-request';
export { ACTIVITY_STATES, type ActivityState } from './activity-instance';
export { COMPONENT_STATES, type ComponentState } from './installed-component';
export { INSTANCE_STATUSES, type InstanceStatus } from './process-instance';

/** Every entity, for the DataSource. */
export const ENTITIES = [Account, User, LoginState, ManagedSystem, SystemRole, MaintenanceWindowRow, InstalledComponent, ComponentEvent, PackageRepository, ProvisioningRequest, CallbackDelivery, ProcessDefinition, ProcessDocument, ProcessInstance, ActivityInstance, ProcessVariable, LinkState, ProcessTimer, WorkOrderType, WorkOrder, WorkOrderEvent, BillableEvent, ChangeRequestRow, ChangePlanPart, ChangePolicyRow, ChangeFragmentRow];
