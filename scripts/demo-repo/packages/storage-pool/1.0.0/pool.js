'use strict';
// storage-pool: a storage pool kept in files under $PROVISOR_SYSTEM_ROOT/srv/pool/.
//
//   node pool.js install     creates srv/pool/ and pool.json (capacity)
//   node pool.js configure   performs the one operation named by the action parameter
//
// Every input comes from the call's own parameters (PROVISOR_PARAM_<NAME>),
// never from the accumulated config.json, so each Configure call is exactly one
// operation. See README.md next to this file for the layout, the actions and
// the rules; in short:
//
//   srv/pool/pool.json                                    capacity of the pool
//   srv/pool/accounts/<account>/volumes/<volume>.img      sparse file of the volume's size
//   srv/pool/accounts/<account>/volumes/<volume>.json     volume record
//   srv/pool/accounts/<account>/snapshots/<volume>@<snapshot>.img / .json
//   srv/pool/accounts/<account>/mappings/<volume>.json    hosts, LUN ids, access modes
//   srv/pool/accounts/<account>/schedules/<volume>.json   snapshot schedule
//
// A refused operation exits 2 with one line on stderr naming what was wrong;
// an unexpected error exits 1, also with one line. The deployment engine never
// runs two tasks on the same component of one system at once, so operations do
// not lock; every file is replaced atomically (temporary file + rename), and a
// record (.json) is written after, and removed after, the data it describes.
const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

/** Accounts, volumes, snapshots and hosts: lower-case, start with a letter or digit, at most 63 characters. */
const NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const GIB = 1024 ** 3;
/** Largest volume: 8 TiB (ext4 refuses a file of 16 TiB, so a round cap well below it). */
const MAX_VOLUME_GIB = 8192;
/** Pool capacity when the install call gives none: 64 TiB of provisioned (thin) volumes. */
const DEFAULT_CAPACITY_GIB = 65536;
const MAX_CAPACITY_GIB = 1048576;
/** LUN ids a host sees, per account: 0 to 255. */
const MAX_LUN = 255;
const MAX_SNAPSHOTS_PER_VOLUME = 256;
const TIERS = ['standard', 'performance'];
const ACCESS_MODES = ['ro', 'rw'];
/** Schedule intervals: from 15 minutes to a year, in fixed units (no years or months). */
const MIN_INTERVAL_SECONDS = 15 * 60;
const MAX_INTERVAL_SECONDS = 366 * 24 * 3600;
const MAX_RETAIN = 1000;

/** A refusal: the input or the pool's state does not allow the operation (exit 2). */
class Refused extends Error {}

/** Every parameter the package knows, by its environment name. */
const PARAMETER_NAMES = ['action', 'workOrderId', 'account', 'volume', 'sizeGiB', 'tier', 'force', 'snapshot', 'host', 'access', 'interval', 'retain', 'capacityGiB'];

/** The actions: their parameters (required first, then optional) and what they do. */
const ACTIONS = {
  createVolume: { required: ['account', 'volume', 'sizeGiB'], optional: ['tier'], run: createVolume },
  expandVolume: { required: ['account', 'volume', 'sizeGiB'], optional: [], run: expandVolume },
  deleteVolume: { required: ['account', 'volume'], optional: ['force'], run: deleteVolume },
  takeSnapshot: { required: ['account', 'volume', 'snapshot'], optional: [], run: takeSnapshot },
  restoreSnapshot: { required: ['account', 'volume', 'snapshot'], optional: ['force'], run: restoreSnapshot },
  deleteSnapshot: { required: ['account', 'volume', 'snapshot'], optional: [], run: deleteSnapshot },
  mapVolume: { required: ['account', 'volume', 'host'], optional: ['access'], run: mapVolume },
  unmapVolume: { required: ['account', 'volume', 'host'], optional: [], run: unmapVolume },
  setSnapshotSchedule: { required: ['account', 'volume', 'interval', 'retain'], optional: [], run: setSnapshotSchedule },
  removeSnapshotSchedule: { required: ['account', 'volume'], optional: [], run: removeSnapshotSchedule },
};

function main() {
  const mode = process.argv[2];
  const root = process.env.PROVISOR_SYSTEM_ROOT;
  if (!root || !path.isAbsolute(root)) throw new Refused('PROVISOR_SYSTEM_ROOT must be an absolute path');
  const params = callParameters(process.env);
  const pool = new Pool(path.join(root, 'srv', 'pool'), stampOf(process.env, params));
  if (mode === 'install') return install(pool, params);
  if (mode !== 'configure') throw new Refused(`usage: node pool.js install|configure, got ${JSON.stringify(mode)}`);
  const action = params.get('action');
  if (action === undefined || action === '') {
    // Configure hooks also run after Update and Rollback, without an action.
    pool.requireInitialised();
    console.log(`storage-pool: no action requested; ${pool.summary()}`);
    return;
  }
  const spec = Object.prototype.hasOwnProperty.call(ACTIONS, action) ? ACTIONS[action] : undefined;
  if (spec === undefined) throw new Refused(`unknown action ${JSON.stringify(action)} (known: ${Object.keys(ACTIONS).join(', ')})`);
  const allowed = ['action', 'workOrderId', ...spec.required, ...spec.optional];
  for (const key of params.keys()) {
    if (!allowed.includes(key)) {
      throw new Refused(`${action} does not take parameter ${JSON.stringify(key)} (it takes ${[...spec.required, ...spec.optional].join(', ')})`);
    }
  }
  for (const name of spec.required) {
    if ((params.get(name) ?? '') === '') throw new Refused(`${action} needs parameter "${name}"`);
  }
  pool.requireInitialised();
  spec.run(pool, new Input(action, params));
}

/** What records say about the call that wrote them: the request, and the work order when one is named. */
function stampOf(env, params) {
  const workOrderId = params.get('workOrderId') ?? '';
  if (workOrderId !== '' && !/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/.test(workOrderId)) {
    throw new Refused(`workOrderId ${JSON.stringify(workOrderId)} must be 1-128 letters, digits, '.', '_', ':' or '-'`);
  }
  return { requestId: env.PROVISOR_REQUEST_ID || null, workOrderId: workOrderId === '' ? null : workOrderId };
}

/** The call's parameters by their package names (unknown ones by their lower-cased variable suffix). */
function callParameters(env) {
  const known = new Map(PARAMETER_NAMES.map((name) => [name.toUpperCase(), name]));
  const params = new Map();
  for (const [key, value] of Object.entries(env)) {
    if (!key.startsWith('PROVISOR_PARAM_')) continue;
    const suffix = key.slice('PROVISOR_PARAM_'.length);
    params.set(known.get(suffix) ?? suffix.toLowerCase(), value);
  }
  return params;
}

/** Typed, checked access to one action's parameters. */
class Input {
  constructor(action, params) {
    this.action = action;
    this.params = params;
  }

  /** A parameter's text, or undefined when absent or empty (optional parameters arrive empty when not chosen). */
  text(name) {
    const value = this.params.get(name);
    return value === undefined || value === '' ? undefined : value;
  }

  name(name) {
    const value = this.text(name);
    if (value === undefined) throw new Refused(`${this.action} needs parameter "${name}"`);
    if (!NAME.test(value)) {
      throw new Refused(`${name} ${JSON.stringify(value)} is not a valid name: use 1-63 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit`);
    }
    return value;
  }

  integer(name, min, max, fallback) {
    const value = this.text(name);
    if (value === undefined) {
      if (fallback !== undefined) return fallback;
      throw new Refused(`${this.action} needs parameter "${name}"`);
    }
    if (!/^\+?[0-9]{1,9}$/.test(value.trim()) || Number(value) < min || Number(value) > max) {
      throw new Refused(`${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
    }
    return Number(value);
  }

  choice(name, choices, fallback) {
    const value = this.text(name) ?? fallback;
    if (!choices.includes(value)) throw new Refused(`${name} must be one of ${choices.join(', ')}, got ${JSON.stringify(value)}`);
    return value;
  }

  boolean(name) {
    const value = this.text(name);
    if (value === undefined) return false;
    const normalized = value.trim();
    if (normalized === 'true' || normalized === '1') return true;
    if (normalized === 'false' || normalized === '0') return false;
    throw new Refused(`${name} must be true or false, got ${JSON.stringify(value)}`);
  }

  /** An xsd:duration in fixed units (days, hours, minutes, seconds), in seconds. */
  duration(name, min, max) {
    const value = this.text(name) ?? '';
    const match = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(value.trim());
    const wrong = `${name} must be an xsd:duration in days, hours, minutes or seconds from PT15M to P366D (e.g. PT24H), got ${JSON.stringify(value)}`;
    if (match === null || value.trim().endsWith('T') || value.trim() === 'P') throw new Refused(wrong);
    const [, d, h, m, s] = match;
    const seconds = Number(d ?? 0) * 86400 + Number(h ?? 0) * 3600 + Number(m ?? 0) * 60 + Number(s ?? 0);
    if (!(seconds >= min && seconds <= max)) throw new Refused(wrong);
    return { text: value.trim(), seconds };
  }
}

/** The pool's files. Names are checked against NAME before they reach a path. */
class Pool {
  /** @param stamp `requestId` (and `workOrderId`) recorded in every record written. */
  constructor(dir, stamp) {
    this.dir = dir;
    this.stamp = stamp;
  }

  get configFile() {
    return path.join(this.dir, 'pool.json');
  }

  accountDir(account) {
    return this.inside(path.join(this.dir, 'accounts', account));
  }

  volumeImage(account, volume) {
    return this.inside(path.join(this.accountDir(account), 'volumes', `${volume}.img`));
  }

  volumeRecord(account, volume) {
    return this.inside(path.join(this.accountDir(account), 'volumes', `${volume}.json`));
  }

  snapshotImage(account, volume, snapshot) {
    return this.inside(path.join(this.accountDir(account), 'snapshots', `${volume}@${snapshot}.img`));
  }

  snapshotRecord(account, volume, snapshot) {
    return this.inside(path.join(this.accountDir(account), 'snapshots', `${volume}@${snapshot}.json`));
  }

  mappingFile(account, volume) {
    return this.inside(path.join(this.accountDir(account), 'mappings', `${volume}.json`));
  }

  scheduleFile(account, volume) {
    return this.inside(path.join(this.accountDir(account), 'schedules', `${volume}.json`));
  }

  /** A second line of defence behind the name pattern: no path leaves the pool. */
  inside(file) {
    const relative = path.relative(this.dir, file);
    if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) throw new Error(`path ${file} is outside the pool`);
    return file;
  }

  requireInitialised() {
    if (!fs.existsSync(this.configFile)) throw new Refused(`the pool is not initialised: ${this.configFile} is missing (install storage-pool again)`);
  }

  capacityGiB() {
    const config = readJson(this.configFile);
    return config !== undefined && Number.isInteger(config.capacityGiB) ? config.capacityGiB : DEFAULT_CAPACITY_GIB;
  }

  /** Every volume record of every account. */
  allVolumes() {
    const volumes = [];
    for (const account of listNames(path.join(this.dir, 'accounts'))) {
      for (const file of listNames(path.join(this.dir, 'accounts', account, 'volumes'))) {
        if (!file.endsWith('.json')) continue;
        const record = readJson(path.join(this.dir, 'accounts', account, 'volumes', file));
        if (record !== undefined) volumes.push({ account, ...record });
      }
    }
    return volumes;
  }

  provisionedGiB() {
    return this.allVolumes().reduce((sum, volume) => sum + (Number.isInteger(volume.sizeGiB) ? volume.sizeGiB : 0), 0);
  }

  summary() {
    const volumes = this.allVolumes();
    return `${volumes.length} volume(s), ${this.provisionedGiB()} GiB provisioned of ${this.capacityGiB()} GiB`;
  }

  /** The volume's record; refuses when it does not exist. */
  volume(account, volume) {
    const record = readJson(this.volumeRecord(account, volume));
    if (record === undefined) throw new Refused(`volume "${volume}" does not exist in account "${account}"`);
    return record;
  }

  /** Snapshot names of a volume, sorted. */
  snapshotsOf(account, volume) {
    const prefix = `${volume}@`;
    return listNames(path.join(this.accountDir(account), 'snapshots'))
      .filter((file) => file.startsWith(prefix) && file.endsWith('.json'))
      .map((file) => file.slice(prefix.length, -'.json'.length))
      .sort();
  }

  mapping(account, volume) {
    return readJson(this.mappingFile(account, volume)) ?? { account, volume, hosts: [] };
  }

  /** Refuses when `moreGiB` more would exceed the pool's capacity. */
  checkCapacity(moreGiB) {
    const capacity = this.capacityGiB();
    const provisioned = this.provisionedGiB();
    if (provisioned + moreGiB > capacity) {
      throw new Refused(`the pool has ${capacity - provisioned} GiB left of ${capacity} GiB (${provisioned} GiB provisioned); ${moreGiB} GiB more do not fit`);
    }
  }
}

// ---- install ----------------------------------------------------------------

function install(pool, params) {
  fs.mkdirSync(path.join(pool.dir, 'accounts'), { recursive: true });
  const existing = readJson(pool.configFile);
  const given = params.get('capacityGiB');
  // The hook also runs on Update and Rollback: the recorded capacity stays unless one is given.
  if (existing !== undefined && (given === undefined || given === '')) {
    console.log(`storage-pool: pool in ${pool.dir} kept; ${pool.summary()}`);
    return;
  }
  const capacityGiB = new Input('install', params).integer('capacityGiB', 1, MAX_CAPACITY_GIB, DEFAULT_CAPACITY_GIB);
  const provisioned = pool.provisionedGiB();
  if (capacityGiB < provisioned) throw new Refused(`capacityGiB ${capacityGiB} is below the ${provisioned} GiB already provisioned`);
  const now = new Date().toISOString();
  writeJsonAtomic(pool.configFile, { capacityGiB, createdAt: existing?.createdAt ?? now, updatedAt: now, ...pool.stamp });
  console.log(`storage-pool: pool in ${pool.dir} ready; capacity ${capacityGiB} GiB`);
}

// ---- volumes ----------------------------------------------------------------

function createVolume(pool, input) {
  const account = input.name('account');
  const volume = input.name('volume');
  const sizeGiB = input.integer('sizeGiB', 1, MAX_VOLUME_GIB);
  const tier = input.choice('tier', TIERS, 'standard');
  const existing = readJson(pool.volumeRecord(account, volume));
  if (existing !== undefined) throw new Refused(`volume "${volume}" already exists in account "${account}" (${existing.sizeGiB} GiB)`);
  pool.checkCapacity(sizeGiB);
  const image = pool.volumeImage(account, volume);
  fs.mkdirSync(path.dirname(image), { recursive: true });
  withTemporary(image, (temporary) => {
    const fd = fs.openSync(temporary, 'wx', 0o600);
    try {
      resize(fd, sizeGiB, volume);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temporary, image);
  });
  const now = new Date().toISOString();
  writeJsonAtomic(pool.volumeRecord(account, volume), { account, name: volume, sizeGiB, tier, createdAt: now, updatedAt: now, ...pool.stamp });
  console.log(`created volume "${volume}" (${sizeGiB} GiB, ${tier}) in account "${account}"`);
}

function expandVolume(pool, input) {
  const account = input.name('account');
  const volume = input.name('volume');
  const sizeGiB = input.integer('sizeGiB', 1, MAX_VOLUME_GIB);
  const record = pool.volume(account, volume);
  if (sizeGiB <= record.sizeGiB) {
    throw new Refused(`volume "${volume}" in account "${account}" is ${record.sizeGiB} GiB; expanding needs a larger size, got ${sizeGiB} GiB`);
  }
  pool.checkCapacity(sizeGiB - record.sizeGiB);
  const fd = fs.openSync(pool.volumeImage(account, volume), 'r+');
  try {
    resize(fd, sizeGiB, volume);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  writeJsonAtomic(pool.volumeRecord(account, volume), { ...record, sizeGiB, updatedAt: new Date().toISOString(), ...pool.stamp });
  console.log(`expanded volume "${volume}" in account "${account}" from ${record.sizeGiB} GiB to ${sizeGiB} GiB`);
}

function deleteVolume(pool, input) {
  const account = input.name('account');
  const volume = input.name('volume');
  const force = input.boolean('force');
  pool.volume(account, volume);
  const hosts = pool.mapping(account, volume).hosts.map((entry) => entry.host);
  const snapshots = pool.snapshotsOf(account, volume);
  if (!force && hosts.length > 0) {
    throw new Refused(`volume "${volume}" in account "${account}" is mapped to host(s) ${quoteList(hosts)}; unmap it first or delete with force=true`);
  }
  if (!force && snapshots.length > 0) {
    throw new Refused(`volume "${volume}" in account "${account}" has snapshot(s) ${quoteList(snapshots)}; delete them first or delete with force=true`);
  }
  // Dependents first and the record last: an interrupted delete leaves a volume that can be deleted again.
  for (const snapshot of snapshots) removeSnapshotFiles(pool, account, volume, snapshot);
  fs.rmSync(pool.mappingFile(account, volume), { force: true });
  fs.rmSync(pool.scheduleFile(account, volume), { force: true });
  fs.rmSync(pool.volumeImage(account, volume), { force: true });
  fs.rmSync(pool.volumeRecord(account, volume), { force: true });
  const extra = [hosts.length > 0 ? `unmapped from ${quoteList(hosts)}` : '', snapshots.length > 0 ? `${snapshots.length} snapshot(s) deleted` : ''].filter(Boolean);
  console.log(`deleted volume "${volume}" from account "${account}"${extra.length > 0 ? ` (${extra.join('; ')})` : ''}`);
}

// ---- snapshots --------------------------------------------------------------

function takeSnapshot(pool, input) {
  const account = input.name('account');
  const volume = input.name('volume');
  const snapshot = input.name('snapshot');
  const record = pool.volume(account, volume);
  if (readJson(pool.snapshotRecord(account, volume, snapshot)) !== undefined) {
    throw new Refused(`snapshot "${snapshot}" of volume "${volume}" already exists in account "${account}"`);
  }
  if (pool.snapshotsOf(account, volume).length >= MAX_SNAPSHOTS_PER_VOLUME) {
    throw new Refused(`volume "${volume}" in account "${account}" already has ${MAX_SNAPSHOTS_PER_VOLUME} snapshots, the most it may have`);
  }
  const image = pool.snapshotImage(account, volume, snapshot);
  fs.mkdirSync(path.dirname(image), { recursive: true });
  withTemporary(image, (temporary) => {
    sparseCopy(pool.volumeImage(account, volume), temporary);
    fs.renameSync(temporary, image);
  });
  writeJsonAtomic(pool.snapshotRecord(account, volume, snapshot), {
    account,
    volume,
    name: snapshot,
    sizeGiB: record.sizeGiB,
    tier: record.tier,
    createdAt: new Date().toISOString(),
    ...pool.stamp,
  });
  console.log(`took snapshot "${snapshot}" of volume "${volume}" (${record.sizeGiB} GiB) in account "${account}"`);
}

function restoreSnapshot(pool, input) {
  const account = input.name('account');
  const volume = input.name('volume');
  const snapshot = input.name('snapshot');
  const force = input.boolean('force');
  const record = pool.volume(account, volume);
  const taken = readJson(pool.snapshotRecord(account, volume, snapshot));
  if (taken === undefined) throw new Refused(`snapshot "${snapshot}" of volume "${volume}" does not exist in account "${account}"`);
  const hosts = pool.mapping(account, volume).hosts.map((entry) => entry.host);
  if (!force && hosts.length > 0) {
    throw new Refused(`volume "${volume}" in account "${account}" is mapped to host(s) ${quoteList(hosts)}; unmap it before restoring, or restore with force=true`);
  }
  const image = pool.volumeImage(account, volume);
  withTemporary(image, (temporary) => {
    sparseCopy(pool.snapshotImage(account, volume, snapshot), temporary);
    // A volume expanded since the snapshot keeps its size; the part beyond the snapshot reads as zeros.
    const fd = fs.openSync(temporary, 'r+');
    try {
      resize(fd, record.sizeGiB, volume);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temporary, image);
  });
  const now = new Date().toISOString();
  writeJsonAtomic(pool.volumeRecord(account, volume), { ...record, updatedAt: now, restoredFrom: { snapshot, takenAt: taken.createdAt, restoredAt: now }, ...pool.stamp });
  console.log(`restored volume "${volume}" in account "${account}" from snapshot "${snapshot}" taken ${taken.createdAt}`);
}

function deleteSnapshot(pool, input) {
  const account = input.name('account');
  const volume = input.name('volume');
  const snapshot = input.name('snapshot');
  pool.volume(account, volume);
  if (readJson(pool.snapshotRecord(account, volume, snapshot)) === undefined) {
    throw new Refused(`snapshot "${snapshot}" of volume "${volume}" does not exist in account "${account}"`);
  }
  removeSnapshotFiles(pool, account, volume, snapshot);
  console.log(`deleted snapshot "${snapshot}" of volume "${volume}" in account "${account}"`);
}

function removeSnapshotFiles(pool, account, volume, snapshot) {
  fs.rmSync(pool.snapshotImage(account, volume, snapshot), { force: true });
  fs.rmSync(pool.snapshotRecord(account, volume, snapshot), { force: true });
}

// ---- host mappings ----------------------------------------------------------

function mapVolume(pool, input) {
  const account = input.name('account');
  const volume = input.name('volume');
  const host = input.name('host');
  const access = input.choice('access', ACCESS_MODES, 'rw');
  pool.volume(account, volume);
  const mapping = pool.mapping(account, volume);
  const now = new Date().toISOString();
  const existing = mapping.hosts.find((entry) => entry.host === host);
  if (existing !== undefined) {
    if (existing.access === access) {
      console.log(`volume "${volume}" in account "${account}" is already mapped to host "${host}" as LUN ${existing.lun} (${access}); nothing to do`);
      return;
    }
    const hosts = mapping.hosts.map((entry) => (entry.host === host ? { ...entry, access, updatedAt: now, ...pool.stamp } : entry));
    writeJsonAtomic(pool.mappingFile(account, volume), { ...mapping, hosts, updatedAt: now });
    console.log(`changed access of host "${host}" to volume "${volume}" in account "${account}" from ${existing.access} to ${access} (LUN ${existing.lun})`);
    return;
  }
  const lun = freeLun(pool, account, host);
  const hosts = [...mapping.hosts, { host, lun, access, mappedAt: now, ...pool.stamp }];
  writeJsonAtomic(pool.mappingFile(account, volume), { account, volume, hosts, updatedAt: now });
  console.log(`mapped volume "${volume}" in account "${account}" to host "${host}" as LUN ${lun} (${access})`);
}

/** The lowest LUN id the host does not see yet among the account's volumes. */
function freeLun(pool, account, host) {
  const used = new Set();
  const dir = path.join(pool.accountDir(account), 'mappings');
  for (const file of listNames(dir)) {
    if (!file.endsWith('.json')) continue;
    for (const entry of readJson(path.join(dir, file))?.hosts ?? []) if (entry.host === host) used.add(entry.lun);
  }
  for (let lun = 0; lun <= MAX_LUN; lun += 1) if (!used.has(lun)) return lun;
  throw new Refused(`host "${host}" already sees ${MAX_LUN + 1} volumes of account "${account}", the most one host may have`);
}

function unmapVolume(pool, input) {
  const account = input.name('account');
  const volume = input.name('volume');
  const host = input.name('host');
  pool.volume(account, volume);
  const mapping = pool.mapping(account, volume);
  const existing = mapping.hosts.find((entry) => entry.host === host);
  if (existing === undefined) throw new Refused(`volume "${volume}" in account "${account}" is not mapped to host "${host}"`);
  const hosts = mapping.hosts.filter((entry) => entry.host !== host);
  if (hosts.length === 0) fs.rmSync(pool.mappingFile(account, volume), { force: true });
  else writeJsonAtomic(pool.mappingFile(account, volume), { ...mapping, hosts, updatedAt: new Date().toISOString() });
  console.log(`unmapped volume "${volume}" in account "${account}" from host "${host}" (LUN ${existing.lun} is free again)`);
}

// ---- schedules --------------------------------------------------------------

function setSnapshotSchedule(pool, input) {
  const account = input.name('account');
  const volume = input.name('volume');
  const interval = input.duration('interval', MIN_INTERVAL_SECONDS, MAX_INTERVAL_SECONDS);
  const retain = input.integer('retain', 1, MAX_RETAIN);
  pool.volume(account, volume);
  writeJsonAtomic(pool.scheduleFile(account, volume), {
    account,
    volume,
    interval: interval.text,
    intervalSeconds: interval.seconds,
    retain,
    updatedAt: new Date().toISOString(),
    ...pool.stamp,
  });
  console.log(`volume "${volume}" in account "${account}": a snapshot every ${interval.text}, keeping ${retain}`);
}

function removeSnapshotSchedule(pool, input) {
  const account = input.name('account');
  const volume = input.name('volume');
  pool.volume(account, volume);
  if (!fs.existsSync(pool.scheduleFile(account, volume))) throw new Refused(`volume "${volume}" in account "${account}" has no snapshot schedule`);
  fs.rmSync(pool.scheduleFile(account, volume), { force: true });
  console.log(`removed the snapshot schedule of volume "${volume}" in account "${account}"`);
}

// ---- files ------------------------------------------------------------------

/** Sets a volume file's size; holes cost no disk. */
function resize(fd, sizeGiB, volume) {
  try {
    fs.ftruncateSync(fd, sizeGiB * GIB);
  } catch (error) {
    if (error.code === 'EFBIG') throw new Refused(`the file system under the pool cannot hold volume "${volume}" of ${sizeGiB} GiB`);
    throw error;
  }
}

/**
 * Copies a sparse file keeping its holes: GNU cp finds them with SEEK_HOLE
 * (or clones the file where the file system can); without it, a copy that
 * skips zero blocks.
 */
function sparseCopy(source, target) {
  try {
    execFileSync('cp', ['--sparse=always', '--', source, target], { stdio: ['ignore', 'ignore', 'pipe'] });
    return;
  } catch {
    fs.rmSync(target, { force: true });
  }
  const chunk = Buffer.alloc(1024 * 1024);
  const zeros = Buffer.alloc(chunk.length);
  const input = fs.openSync(source, 'r');
  const output = fs.openSync(target, 'wx', 0o600);
  try {
    const { size } = fs.fstatSync(input);
    for (let position = 0; position < size; ) {
      const read = fs.readSync(input, chunk, 0, chunk.length, position);
      if (read === 0) break;
      if (!chunk.subarray(0, read).equals(zeros.subarray(0, read))) fs.writeSync(output, chunk, 0, read, position);
      position += read;
    }
    fs.ftruncateSync(output, size);
    fs.fsyncSync(output);
  } finally {
    fs.closeSync(input);
    fs.closeSync(output);
  }
}

/** Runs `use` with a temporary name next to `file` (hidden: names never start with a dot), removed if left over. */
function withTemporary(file, use) {
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${crypto.randomBytes(4).toString('hex')}.tmp`);
  try {
    use(temporary);
  } finally {
    fs.rmSync(temporary, { force: true });
  }
}

function writeJsonAtomic(file, value) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  withTemporary(file, (temporary) => {
    const fd = fs.openSync(temporary, 'wx', 0o644);
    try {
      fs.writeSync(fd, `${JSON.stringify(value, null, 2)}\n`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temporary, file);
  });
}

function readJson(file) {
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${file} is not valid JSON`);
  }
}

/** Entries of a directory that are valid names or files named from them (temporary files start with a dot). */
function listNames(dir) {
  try {
    return fs.readdirSync(dir).filter((entry) => /^[a-z0-9]/.test(entry)).sort();
  } catch (error) {
    if (error.code === 'ENOENT') return [];
    throw error;
  }
}

function quoteList(names) {
  return names.map((name) => `"${name}"`).join(', ');
}

try {
  main();
} catch (error) {
  const refused = error instanceof Refused;
  const text = String(error && error.message ? error.message : error).replace(/\s+/g, ' ');
  process.stderr.write(`${refused ? '' : 'storage-pool internal error: '}${text}\n`);
  process.exitCode = refused ? 2 : 1;
}
