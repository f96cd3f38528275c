/**
 * The qemu HypervisorDriver: one QEMU process per guest, driven over QMP. Lifecycle calls on one guest
 * are serialized; each is idempotent. Removal calls (destroy, cleanupSource, rollbackDestination) on a
 * guest this host does not have succeed, since there is nothing left to remove; every other call on an
 * unknown guest fails with InstanceNotFound. Decisions come from QEMU (query-status, query-migrate),
 * never from what this driver remembers, so a driver that adopted the guests of a previous agent decides
 * as that agent would have.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { BatonError } from '../../../core/errors.js';
import type { Progress } from '../../../core/migration-state.js';
import type {
  GuestInfo, GuestSpec, HostResources, HypervisorDriver, IncomingInfo, MigrateRequest, MigrateResult,
} from '../../driver-port.js';
import { KeyedLock } from './keyed-lock.js';
import { checkDestination, checkSource, resolveMachine } from './qemu-checks.js';
import { probeQemu } from './qemu-host-info.js';
import { resolveQemuConfig, type QemuDriverConfig, type ResolvedQemuConfig } from './qemu-config.js';
import { instancePaths, QemuInstance, type OutgoingRecord } from './qemu-instance.js';
import { startIncoming, waitIncomingDone } from './incoming-migration.js';
import { removeMarker } from './migration-markers.js';
import { cancelAdopted, planOutgoing, resumeSource } from './outgoing-migration.js';
import { toGuestState } from './guest-state.js';
import { ACTIVE_STATUSES, sourceFacts } from './source-facts.js';

export class QemuDriver implements HypervisorDriver {
  readonly type = 'qemu';
  readonly config: ResolvedQemuConfig;
  readonly #guests = new Map<string, QemuInstance>();
  readonly #lock = new KeyedLock();

  constructor(config: QemuDriverConfig) {
    this.config = resolveQemuConfig(config);
  }

  async hostResources(): Promise<HostResources> {
    const info = await probeQemu(this.config.binary);
    return {
      hypervisorType: 'QEMU', hypervisorVersion: info.versionNumber, cpuModel: this.config.cpuModel,
      cpuFeatures: this.config.cpuFeatures, ...this.config.resources,
    };
  }

  async listGuests(): Promise<GuestInfo[]> {
    const out: GuestInfo[] = [];
    for (const [uuid, inst] of this.#guests) {
      const f = await sourceFacts(inst);
      const state = toGuestState(f.runState, f.status, inst);
      if (state) out.push({ uuid, state });
    }
    return out;
  }

  /** PIDs of the QEMU processes this driver runs (for leak checks and operators). */
  pids(): number[] {
    return [...this.#guests.values()].filter((g) => g.proc.alive).map((g) => g.proc.pid ?? -1);
  }

  /** The guest's serial log path (the test guest prints its counter there). */
  serialLog(uuid: string): string {
    return instancePaths(this.config.stateDir, uuid).serialLog;
  }

  spawn(guest: GuestSpec): Promise<void> {
    return this.#lock.run(guest.uuid, async () => {
      const existing = this.#guests.get(guest.uuid);
      if (existing?.proc.alive && !existing.incoming) return;
      if (existing) throw invalidState(guest.uuid, 'is being migrated to this host');
      const machine = await resolveMachine(this.config);
      this.#guests.set(guest.uuid, await QemuInstance.start(this.config, guest, machine, false));
    });
  }

  destroy(uuid: string): Promise<void> {
    return this.#remove(uuid);
  }

  checkDestination(guest: GuestSpec, source: { cpuModel: string; cpuFeatures: readonly string[] }): Promise<Record<string, unknown>> {
    return checkDestination(this.config, [...this.#guests.values()], guest, source);
  }

  async checkSource(guest: GuestSpec): Promise<Record<string, unknown>> {
    return checkSource(this.config, this.#get(guest.uuid));
  }

  prepareIncoming(guest: GuestSpec, migrationId: number): Promise<IncomingInfo> {
    return this.#lock.run(guest.uuid, async () => {
      const existing = this.#guests.get(guest.uuid);
      if (existing?.incoming?.migrationId === migrationId && existing.proc.alive) return existing.incoming.info;
      if (existing?.proc.alive && !existing.incoming) throw invalidState(guest.uuid, 'already runs on this host');
      if (existing) await this.#drop(existing);
      const inst = await startIncoming(this.config, guest, migrationId, await resolveMachine(this.config));
      this.#guests.set(guest.uuid, inst);
      return inst.incoming!.info;
    });
  }

  /**
   * Starts the copy; for a migration this host already knows, joins the copy in flight or answers from
   * QEMU's facts (a re-run after an agent restart: QEMU kept copying, detached, while no agent watched).
   */
  async migrate(req: MigrateRequest, onProgress: (p: Progress) => void): Promise<MigrateResult> {
    const inst = this.#get(req.guest.uuid);
    const current = inst.outgoing;
    if (current?.migrationId === req.migrationId) return current.promise;
    if (current && !current.settled) throw invalidState(req.guest.uuid, `is migrating (migration ${current.migrationId})`);
    if (!inst.proc.alive) throw new BatonError('MigrationError', `QEMU of ${req.guest.uuid} is not running`, { uuid: req.guest.uuid });
    // Registered before the first await, so an abort that comes in meanwhile finds it.
    const rec: OutgoingRecord = {
      migrationId: req.migrationId, promise: Promise.resolve({ downtimeMs: 0, totalTimeMs: 0, postcopy: false }), settled: false,
      abortRequested: false, forceRequested: false, cancel: null, force: null,
    };
    // Decided under the guest's lock; the copy itself runs outside it, so that destroy or rollback is not held up.
    rec.promise = this.#lock.run(req.guest.uuid, () => planOutgoing(this.config, inst, rec, req, onProgress)).then((run) => run())
      .finally(() => { rec.settled = true; });
    rec.promise.catch(() => undefined);
    inst.outgoing = rec;
    return rec.promise;
  }

  /** Cancels the outgoing migration, whether this driver follows it or QEMU runs it for a previous agent. */
  async abortMigration(uuid: string): Promise<void> {
    const inst = this.#get(uuid);
    const out = inst.outgoing;
    if (out && !out.settled) {
      if (out.abortRequested) return;
      out.abortRequested = true;
      await out.cancel?.();
      return;
    }
    await cancelAdopted(inst, this.config.finishTimeoutMs);
  }

  async forceComplete(uuid: string): Promise<void> {
    const out = this.#get(uuid).outgoing;
    if (!out || out.settled || out.forceRequested) return;
    out.forceRequested = true;
    await out.force?.();
  }

  cleanupSource(uuid: string): Promise<void> {
    return this.#lock.run(uuid, async () => {
      const inst = this.#guests.get(uuid);
      if (!inst) return this.#removeFiles(uuid);
      const f = await sourceFacts(inst);
      // Never remove the only running copy of a guest: the switch-over must have happened, and a post-copy
      // must have fetched every page it still needs from here.
      if (f.runState !== 'postmigrate' && f.runState !== 'gone') throw invalidState(uuid, `is ${f.runState}; the source is removed only after switch-over`);
      if (ACTIVE_STATUSES.has(f.status)) throw invalidState(uuid, `is still sending its memory (${f.status})`);
      await this.#drop(inst);
    });
  }

  finishIncoming(uuid: string): Promise<void> {
    return this.#lock.run(uuid, async () => {
      const inst = this.#get(uuid);
      await waitIncomingDone(this.config, inst);
      inst.incoming = null;
      await removeMarker(inst.paths.incomingMarker);
    });
  }

  /**
   * Removes an incoming guest that has not arrived. Once QEMU left `inmigrate` the guest's state lives
   * here (the source may have died before reporting the switch-over), so destroying it could destroy the
   * only running copy: that is refused with MigrationSwitchedOver, which the conductor takes as proof.
   */
  rollbackDestination(uuid: string): Promise<void> {
    return this.#lock.run(uuid, async () => {
      const inst = this.#guests.get(uuid);
      if (!inst) return this.#removeFiles(uuid);
      const state = inst.proc.alive ? await inst.runState() : 'gone';
      if (!NOT_ARRIVED.has(state)) {
        const evidence = `destination QEMU run state is ${state}: the incoming migration completed`;
        throw new BatonError('MigrationSwitchedOver', `refusing to destroy ${uuid} on ${this.config.host}: the guest arrived and runs here (${evidence})`,
          { host: this.config.host, uuid, evidence });
      }
      await this.#drop(inst);
    });
  }

  /**
   * Cancels a copy still running (followed here, or left by a previous agent) and makes sure the guest
   * runs here again. QEMU decides whether it may: a source whose state moved to the destination is never
   * resumed (MigrationSwitchedOver), since that would run the guest twice.
   */
  async rollbackSource(uuid: string): Promise<void> {
    const inst = this.#get(uuid);
    const out = inst.outgoing;
    if (out && !out.settled) {
      out.abortRequested = true;
      await out.cancel?.().catch(() => undefined);
      await out.promise.catch(() => undefined);
    }
    await this.#lock.run(uuid, async () => {
      if (!inst.proc.alive) throw new BatonError('MigrationError', `QEMU of ${uuid} exited; the guest cannot be resumed here`, { uuid });
      await cancelAdopted(inst, this.config.finishTimeoutMs);
      await resumeSource(this.config.host, inst);
      const state = await inst.runState();
      if (state !== 'running') throw new BatonError('MigrationError', `guest ${uuid} is ${state} after rollback`, { uuid, state });
    });
  }

  /**
   * Takes over the guests a previous agent left running in the state dir (keepGuestsOnClose); removes the
   * files of guests whose QEMU is gone. Returns the uuids adopted.
   */
  async adopt(): Promise<string[]> {
    const dirs = await readdir(join(this.config.stateDir, 'instances')).catch(() => [] as string[]);
    const adopted: string[] = [];
    for (const uuid of dirs) {
      if (this.#guests.has(uuid)) continue;
      try {
        this.#guests.set(uuid, await QemuInstance.adopt(this.config, uuid));
        adopted.push(uuid);
      } catch {
        await this.#removeFiles(uuid).catch(() => undefined);
      }
    }
    return adopted;
  }

  /** Stops every QEMU this driver runs and removes their files, or with keepGuestsOnClose leaves them running. */
  async close(): Promise<void> {
    if (this.config.keepGuestsOnClose) {
      for (const inst of this.#guests.values()) inst.proc.detach();
      this.#guests.clear();
      return;
    }
    await Promise.all([...this.#guests.keys()].map((uuid) => this.#remove(uuid)));
  }

  #get(uuid: string): QemuInstance {
    const inst = this.#guests.get(uuid);
    if (!inst) throw new BatonError('InstanceNotFound', `instance ${uuid} is not on host ${this.config.host}`, { uuid, host: this.config.host });
    return inst;
  }

  #remove(uuid: string): Promise<void> {
    return this.#lock.run(uuid, async () => {
      const inst = this.#guests.get(uuid);
      if (inst) await this.#drop(inst);
      else await this.#removeFiles(uuid);
    });
  }

  async #drop(inst: QemuInstance): Promise<void> {
    await inst.remove();
    if (this.#guests.get(inst.spec.uuid) === inst) this.#guests.delete(inst.spec.uuid);
  }

  async #removeFiles(uuid: string): Promise<void> {
    await rm(instancePaths(this.config.stateDir, uuid).dir, { recursive: true, force: true });
  }
}

/** QEMU run states in which an incoming guest has not received its state yet (or its QEMU is gone). */
const NOT_ARRIVED = new Set(['inmigrate', 'prelaunch', 'gone']);

function invalidState(uuid: string, what: string): BatonError {
  return new BatonError('InstanceInvalidState', `instance ${uuid} ${what}`, { uuid });
}

/** The factory the composition root calls for `--driver qemu`. */
export function createQemuDriver(config: QemuDriverConfig): QemuDriver {
  return new QemuDriver(config);
}
