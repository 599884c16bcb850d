// vrrp_sync_group: its member instances move together (keepalived's vrrp_sync.c semantics).
//   - A member becomes MASTER only when every member wants MASTER (its own down timer ran out,
//     or it is master already); otherwise its timer is held for another Master_Down_Interval,
//     so one member hearing a live master keeps the whole group backup (no thrashing). When one
//     does become MASTER, the others follow at once: `VRRP_Group(G1) Syncing instances to
//     MASTER state`.
//   - A member leaving MASTER for BACKUP (a higher-priority master) takes the others with it:
//     `… Syncing instances to BACKUP state`.
//   - A member with a fault of its own puts the others in FAULT through their fault sets (reason
//     `sync_group:G1`): `… Syncing instances to FAULT state`. When no member has a fault of its
//     own any more, those reasons are cleared and the group runs the normal election again.
// Moves the coordinator itself causes (reason `sync_group`) are not propagated again.
import type { Logger } from '../daemon/log.js';
import type { TransitionRecord, VrrpInstanceRuntime } from './instance.js';

export type GroupState = 'BACKUP' | 'MASTER' | 'FAULT' | 'INIT';

export class SyncGroup {
  private members: VrrpInstanceRuntime[] = [];
  private state: GroupState = 'INIT';
  private busy = false;
  private again = false;
  private readonly observers: Array<(group: SyncGroup, state: GroupState, prev: GroupState) => void> = [];

  constructor(readonly name: string, private readonly log: Logger) {}

  add(rt: VrrpInstanceRuntime): void {
    this.members.push(rt);
  }

  get groupState(): GroupState {
    return this.state;
  }

  get memberNames(): string[] {
    return this.members.map((m) => m.name);
  }

  /** Group state changes (group notify scripts). */
  onState(fn: (group: SyncGroup, state: GroupState, prev: GroupState) => void): void {
    this.observers.push(fn);
  }

  /** The instance gate (InstanceDeps.mayTakeOver): every other member must want MASTER. */
  mayTakeOver(rt: VrrpInstanceRuntime): boolean {
    if (this.state === 'MASTER') return true;
    return this.members.every((m) => m === rt || m.wantsMaster);
  }

  /** Called for every member transition (InstanceDeps.onTransition). */
  onTransition(rt: VrrpInstanceRuntime, rec: TransitionRecord): void {
    if (rec.reason === 'sync_group') {
      this.refresh();
      return;
    }
    if (rec.to === 'MASTER') {
      this.say('MASTER');
      for (const m of this.members) if (m !== rt && m.state === 'BACKUP') m.syncMaster();
    } else if (rec.to === 'BACKUP' && rec.from === 'MASTER') {
      this.say('BACKUP');
      for (const m of this.members) if (m !== rt && m.state === 'MASTER') m.syncBackup();
    } else if (rec.to === 'FAULT' && rt.hasOwnFault) {
      this.say('FAULT');
    }
    this.refresh();
  }

  /**
   * Called whenever a member's fault set changed (InstanceDeps.onFaultsChanged): every member
   * carries the reason `sync_group:G` exactly while another member has a fault of its own.
   * Setting those reasons calls back here; the loop settles because a second pass changes nothing.
   */
  faultsChanged(): void {
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    try {
      do {
        this.again = false;
        for (const m of this.members) {
          const culprit = this.members.find((x) => x !== m && x.hasOwnFault);
          if (culprit) {
            if (!m.hasFault('sync_group', this.name)) m.setFault('sync_group', this.name, `member ${culprit.name} is in FAULT`);
          } else {
            m.clearFault('sync_group', this.name);
          }
        }
      } while (this.again);
    } finally {
      this.busy = false;
    }
    this.refresh();
  }

  private say(to: 'MASTER' | 'BACKUP' | 'FAULT'): void {
    if (this.state === to) return;
    this.log.info({ group: this.name, to }, `VRRP_Group(${this.name}) Syncing instances to ${to} state`);
  }

  /** The group's state: FAULT if any member is, MASTER if all are, else BACKUP (INIT at start). */
  private refresh(): void {
    const states = this.members.map((m) => m.state);
    const next: GroupState = states.includes('FAULT') ? 'FAULT'
      : states.length > 0 && states.every((s) => s === 'MASTER') ? 'MASTER'
        : states.every((s) => s === 'INIT') ? 'INIT' : 'BACKUP';
    if (next === this.state) return;
    const prev = this.state;
    this.state = next;
    for (const fn of this.observers) fn(this, next, prev);
  }
}
