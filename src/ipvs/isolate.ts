// Applying a batch so that a command ipvsadm refuses cannot hold up the others. ipvsadm -R exits
// on an option error (the rest of the batch is lost) and carries on after a kernel error, and
// neither says which line it refused. So after a refusal the table is read again (the batch may be
// partly applied), what is still to do is planned again, and applied in smaller pieces: by service,
// then within the refused service its own command, then its destinations in halves.
import type { IpvsOp } from './diff.js';
import type { IpvsadmError } from './ipvsadm.js';
import { destKey } from './model.js';

/** What the isolation needs from the reconciler. */
export interface IsolationHost {
  /** Apply one batch: null when applied (the picture follows), the error when ipvsadm refused it. */
  tryRestore(ops: readonly IpvsOp[]): Promise<IpvsadmError | null>;
  /** Read the whole table again into the picture. */
  refresh(): Promise<void>;
  /** The operations still to do for these services, against the picture. */
  plan(keys: Iterable<string>): IpvsOp[];
  /** The service is as desired. */
  succeeded(key: string): void;
  /** The service's `command` is refused on a fresh picture (`count` of its commands are). */
  refused(key: string, command: string, error: IpvsadmError, count: number): void;
}

/** The operations of one service, applied together while nothing is refused. */
export interface Unit {
  key: string;
  ops: IpvsOp[];
}

export function byService(ops: readonly IpvsOp[]): Unit[] {
  const units = new Map<string, Unit>();
  for (const o of ops) {
    let u = units.get(o.service);
    if (!u) units.set(o.service, (u = { key: o.service, ops: [] }));
    u.ops.push(o);
  }
  return [...units.values()];
}

/**
 * Apply the units' operations in one batch; when ipvsadm refuses it, read the table again and
 * apply what is still to do in smaller pieces, down to the refused commands alone.
 */
export async function applyIsolating(h: IsolationHost, units: Unit[]): Promise<void> {
  if (units.length === 0) return;
  if (units.length === 1) return isolateService(h, units[0]!, false);
  const err = await h.tryRestore(units.flatMap((u) => u.ops));
  if (!err) {
    for (const u of units) h.succeeded(u.key);
    return;
  }
  await h.refresh();
  const again = byService(h.plan(units.map((u) => u.key)));
  const left = new Set(again.map((u) => u.key));
  for (const u of units) if (!left.has(u.key)) h.succeeded(u.key);
  // ipvsadm stops at an option error, having applied everything before it: the first service
  // left is the one it refused. That one alone, then the rest together, saves the halving.
  if (err.exitCode !== null && err.exitCode !== 0 && again.length > 1) {
    await isolateService(h, again[0]!, true);
    await applyIsolating(h, again.slice(1));
    return;
  }
  const mid = Math.ceil(again.length / 2);
  await applyIsolating(h, again.slice(0, mid));
  await applyIsolating(h, again.slice(mid));
}

/**
 * One service: its commands together (unless they were just planned on a fresh read after a
 * refusal), then the service command on its own, then its destinations in halves, so one bad
 * destination does not keep the others out.
 */
async function isolateService(h: IsolationHost, unit: Unit, fresh: boolean): Promise<void> {
  let ops = unit.ops;
  if (!fresh) {
    const err = await h.tryRestore(ops);
    if (!err) {
      h.succeeded(unit.key);
      return;
    }
    await h.refresh();
    ops = h.plan([unit.key]);
    if (ops.length === 0) {
      h.succeeded(unit.key);
      return;
    }
  }
  const head = ops.filter((o) => o.dest === null);
  if (head.length > 0) {
    const e = await h.tryRestore(head);
    if (e) {
      h.refused(unit.key, head[0]!.line, e, 1);
      return;
    }
    if (head.some((o) => o.cmd === '-D')) {
      h.succeeded(unit.key);
      return;
    }
  }
  const refused = await bisectDests(h, unit.key, ops.filter((o) => o.dest !== null), 1);
  if (refused.length === 0) h.succeeded(unit.key);
  else h.refused(unit.key, refused[0]!.line, refused[0]!.error, refused.length);
}

/** Destination commands of one service are independent: split until the refused ones are alone. */
async function bisectDests(h: IsolationHost, key: string, ops: IpvsOp[], retries: number): Promise<{ line: string; error: IpvsadmError }[]> {
  if (ops.length === 0) return [];
  const err = await h.tryRestore(ops);
  if (!err) return [];
  await h.refresh();
  const wanted = new Set(ops.map((o) => destKey(o.dest!)));
  const again = h.plan([key]).filter((o) => o.dest !== null && wanted.has(destKey(o.dest)));
  if (again.length === 0) return [];
  if (again.length === 1) {
    const only = again[0]!;
    // Refused on a fresh picture: that is the command. Otherwise the picture was stale: once more.
    if (ops.length === 1 && (only.line === ops[0]!.line || retries <= 0)) return [{ line: only.line, error: err }];
    return bisectDests(h, key, [only], ops.length === 1 ? retries - 1 : retries);
  }
  const mid = Math.ceil(again.length / 2);
  return [...await bisectDests(h, key, again.slice(0, mid), retries), ...await bisectDests(h, key, again.slice(mid), retries)];
}
