/**
 * How a BPEL fault is stored: one JSON text in the `fault` column of an
 * activity or instance row. The interpreter writes it when an activity
 * faults and reads it back when a resumed instance meets the faulted row
 * again; the instance queries read it to show why an instance ended.
 *
 * Stored form: `{ ns, local, message, path?, data? }`, where `path` is the
 * activity the fault was raised in and `data` its fault variable's value
 * (serialized like a process variable).
 */
import { BpelFault } from '../bpel/values';
import { deserializeValue, serializeValue } from '../bpel/xpath';

/** A fault as the queries show it. */
export interface StoredFault {
  readonly ns: string;
  readonly local: string;
  readonly message: string;
}

/** The path of the activity where a fault was raised, once known. */
export function faultPathOf(err: BpelFault): string | undefined {
  return (err as BpelFault & { activityPath?: string }).activityPath;
}

/** Records where a fault was raised; the first (innermost) path recorded stays. */
export function withPath(err: BpelFault, path: string): BpelFault {
  const tagged = err as BpelFault & { activityPath?: string };
  if (tagged.activityPath === undefined) tagged.activityPath = path;
  return err;
}

export function serializeFault(fault: BpelFault): string {
  return JSON.stringify({ ns: fault.faultName.ns, local: fault.faultName.local, message: fault.message, path: faultPathOf(fault), data: fault.data === undefined ? undefined : serializeValue(fault.data) });
}

export function deserializeFault(text: string): BpelFault {
  const f = JSON.parse(text) as { ns: string; local: string; message: string; path?: string; data?: string };
  const fault = new BpelFault({ ns: f.ns, local: f.local }, f.message, f.data === undefined ? undefined : deserializeValue(f.data));
  return f.path === undefined ? fault : withPath(fault, f.path);
}

/** The name and message of a stored fault. */
export function readStoredFault(text: string): StoredFault {
  return JSON.parse(text) as StoredFault;
}

/** A stored fault as one line, `{ns}local: message`; text that is not a stored fault is shown as it is. */
export function describeStoredFault(text: string): string {
  try {
    const f = readStoredFault(text);
    return `{${f.ns}}${f.local}: ${f.message}`;
  } catch {
    return text;
  }
}
