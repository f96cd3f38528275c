/**
 * The fake hypervisor: a deterministic pre-copy simulation driven by an injectable clock.
 * Its registry of guests is the ground truth of what runs on this host, and every decision (may this
 * guest be resumed, removed, migrated again) is taken from it, as the qemu driver takes them from QEMU.
 */
import { BatonError } from '../../../core/errors.js';
import type { Progress } from '../../../core/migration-state.js';
import { copyGuest } from './fake-copy.js';
import type { Clock } from '../../../core/ports.js';
import {
  GuestState, type GuestInfo, type GuestSpec, type HostResources, type HypervisorDriver, type IncomingInfo, type MigrateRequest,
  type MigrateResult,
} from '../../driver-port.js';
import { FaultPlan } from './fault-plan.js';
import type { MigrationFabric, MigrationStream } from './fake-fabric.js';
import { loadRegistry, saveRegistry, type MigratedRecord } from './fake-registry-file.js';

export interface FakeMigrationPolicy {
  readonly dirtyRateMibs: number;
  /** 0 makes every copy instantaneous. */
  readonly bandwidthMibs: number;
  readonly downtimeLimitMs: number;
  readonly autoConverge: boolean;
  readonly postcopyAllowed: boolean;
  readonly maxPasses: number;
  readonly completionTimeoutMs: number;
  readonly timeoutAction: 'abort' | 'force_complete';
}

export const DEFAULT_FAKE_POLICY: FakeMigrationPolicy = {
  dirtyRateMibs: 0, bandwidthMibs: 0, downtimeLimitMs: 500, autoConverge: false, postcopyAllowed: false,
  maxPasses: 30, completionTimeoutMs: 800_000, timeoutAction: 'abort',
};

export const DEFAULT_FAKE_RESOURCES: HostResources = {
  hypervisorType: 'fake', hypervisorVersion: 1_000_000, cpuModel: 'Haswell-noTSX', cpuFeatures: ['sse4.2', 'avx', 'avx2', 'aes'],
  vcpus: 16, memoryMb: 65_536, diskGb: 1_000,
};

export interface FakeDriverConfig {
  readonly host: string;
  readonly clock: Clock;
  readonly fabric: MigrationFabric;
  readonly resources?: Partial<HostResources>;
  readonly policy?: Partial<FakeMigrationPolicy>;
  readonly faults?: FaultPlan;
  /**
   * A JSON file that keeps the guest list across restarts (of the agent, or of the process with SIGKILL);
   * none keeps it in memory only.
   */
  readonly statePath?: string;
}

interface Guest {
  readonly spec: GuestSpec;
  state: GuestState;
  aborted: boolean;
  forced: boolean;
  incomingUri: string | null;
  /** The copy streaming out of here right now. */
  copy: { readonly migrationId: number; readonly promise: Promise<MigrateResult> } | null;
  /** The migration that moved this guest to its destination (state POSTMIGRATE), and its result. */
  migrated: MigratedRecord | null;
}

export class FakeDriver implements HypervisorDriver {
  readonly type = 'fake';
  readonly faults: FaultPlan;
  policy: FakeMigrationPolicy;
  readonly #cfg: FakeDriverConfig;
  readonly #resources: HostResources;
  readonly #guests = new Map<string, Guest>();

  constructor(cfg: FakeDriverConfig) {
    this.#cfg = cfg;
    this.#resources = { ...DEFAULT_FAKE_RESOURCES, ...cfg.resources };
    this.policy = { ...DEFAULT_FAKE_POLICY, ...cfg.policy };
    this.faults = cfg.faults ?? new FaultPlan();
    if (cfg.statePath) {
      for (const g of loadRegistry(cfg.statePath)) this.#guests.set(g.spec.uuid, { ...newGuest(g.spec, g.state), migrated: g.migrated ?? null });
    }
  }

  /** Writes the registry out after each change, when it has a file. */
  #persist(): void {
    if (!this.#cfg.statePath) return;
    saveRegistry(this.#cfg.statePath, [...this.#guests.values()].map((g) => ({ spec: g.spec, state: g.state, ...(g.migrated ? { migrated: g.migrated } : {}) })));
  }

  async hostResources(): Promise<HostResources> {
    return this.#resources;
  }

  async listGuests(): Promise<GuestInfo[]> {
    return [...this.#guests.entries()].map(([uuid, g]) => ({ uuid, state: g.state }));
  }

  async spawn(spec: GuestSpec): Promise<void> {
    await this.faults.before('spawn', spec);
    if (!this.#guests.has(spec.uuid)) this.#guests.set(spec.uuid, newGuest(spec, GuestState.RUNNING));
    this.#persist();
  }

  async destroy(uuid: string): Promise<void> {
    const g = this.#guests.get(uuid);
    if (g?.incomingUri) this.#cfg.fabric.close(g.incomingUri);
    this.#guests.delete(uuid);
    this.#persist();
  }

  async checkDestination(spec: GuestSpec, source: { cpuModel: string; cpuFeatures: readonly string[] }): Promise<Record<string, unknown>> {
    await this.faults.before('checkDestination', spec);
    const g = this.#guests.get(spec.uuid);
    if (g && g.state !== GuestState.INCOMING) {
      throw new BatonError('MigrationPreCheckError', `Migration pre-check error: instance ${spec.uuid} already exists on ${this.#cfg.host}`);
    }
    const missing = source.cpuFeatures.filter((f) => !this.#resources.cpuFeatures.includes(f));
    if (source.cpuModel !== this.#resources.cpuModel || missing.length > 0) {
      throw new BatonError('InvalidCPUInfo', `Unacceptable CPU info: CPU doesn't have compatibility on ${this.#cfg.host}` +
        (missing.length ? ` (missing ${missing.join(', ')})` : ` (model ${this.#resources.cpuModel} vs ${source.cpuModel})`));
    }
    return { host: this.#cfg.host, cpuModel: this.#resources.cpuModel };
  }

  async checkSource(spec: GuestSpec): Promise<Record<string, unknown>> {
    await this.faults.before('checkSource', spec);
    const g = this.#require(spec.uuid);
    if (g.state !== GuestState.RUNNING && g.state !== GuestState.PAUSED) {
      throw new BatonError('InstanceInvalidState', `guest ${spec.uuid} is ${g.state} on ${this.#cfg.host}; only a running or paused guest can migrate`);
    }
    return { memoryMb: spec.memoryMb, state: g.state };
  }

  async prepareIncoming(spec: GuestSpec, migrationId: number): Promise<IncomingInfo> {
    await this.faults.before('prepareIncoming', spec);
    const existing = this.#guests.get(spec.uuid);
    if (existing?.state === GuestState.INCOMING && existing.incomingUri) return { uri: existing.incomingUri };
    if (existing) throw new BatonError('MigrationError', `guest ${spec.uuid} already ${existing.state} on ${this.#cfg.host}`);
    const g = newGuest(spec, GuestState.INCOMING);
    this.#guests.set(spec.uuid, g);
    const uri = await this.#cfg.fabric.listen(`${this.#cfg.host}/${spec.uuid}/${migrationId}`, {
      accept: () => {
        if (g.state !== GuestState.INCOMING) throw new Error(`guest ${spec.uuid} is not waiting for a stream on ${this.#cfg.host}`);
        g.state = GuestState.RUNNING;
        g.incomingUri = null;
        this.#persist();
      },
    });
    g.incomingUri = uri;
    this.#persist();
    return { uri };
  }

  /**
   * Starts the copy, or for a migration already known here joins the copy in flight, or reports the
   * completion the registry shows (the guest is POSTMIGRATE): a re-run after an agent restart.
   */
  migrate(req: MigrateRequest, onProgress: (p: Progress) => void): Promise<MigrateResult> {
    const g = this.#guests.get(req.guest.uuid);
    if (!g) return Promise.reject(notFound(req.guest.uuid, this.#cfg.host));
    if (g.copy?.migrationId === req.migrationId) return g.copy.promise;
    if (g.state === GuestState.POSTMIGRATE) {
      if (g.migrated && g.migrated.migrationId !== req.migrationId) {
        return Promise.reject(new BatonError('InstanceInvalidState', `guest ${req.guest.uuid} left ${this.#cfg.host} with migration ${g.migrated.migrationId}`,
          { uuid: req.guest.uuid, host: this.#cfg.host }));
      }
      return Promise.resolve(g.migrated?.result ?? { downtimeMs: 0, totalTimeMs: 0, postcopy: false });
    }
    if (g.state !== GuestState.RUNNING && g.state !== GuestState.PAUSED) {
      return Promise.reject(new BatonError('MigrationError', `guest ${req.guest.uuid} is ${g.state}; cannot start a migration`));
    }
    g.state = GuestState.MIGRATING;
    g.aborted = false;
    g.forced = false;
    this.#persist();
    const promise = this.#copy(g, req, onProgress).finally(() => { if (g.copy?.promise === promise) g.copy = null; });
    g.copy = { migrationId: req.migrationId, promise };
    return promise;
  }

  async #copy(g: Guest, req: MigrateRequest, onProgress: (p: Progress) => void): Promise<MigrateResult> {
    let stream: MigrationStream | null = null;
    let result: MigrateResult;
    try {
      stream = await this.#cfg.fabric.open(req.incoming.uri);
      const switchOver = (): void => {
        // As QEMU's source: stopped for good once it hands the last state over. Recorded before the
        // destination confirms, so that a crash in between can never leave two running copies.
        g.state = GuestState.POSTMIGRATE;
        this.#persist();
      };
      result = await copyGuest({ clock: this.#cfg.clock, policy: this.policy, faults: this.faults, flags: g, req, stream, onProgress, switchOver });
    } catch (e) {
      // The destination did not take the guest: it runs here as before.
      if (g.state === GuestState.MIGRATING || g.state === GuestState.POSTMIGRATE) g.state = GuestState.RUNNING;
      this.#persist();
      throw e;
    } finally {
      stream?.close();
    }
    g.migrated = { migrationId: req.migrationId, result };
    this.#persist();
    return result;
  }

  /** Cancels the copy in flight, if any; migrate() then rejects with MigrationCancelled. */
  async abortMigration(uuid: string): Promise<void> {
    const g = this.#require(uuid);
    if (g.copy) g.aborted = true;
  }

  async forceComplete(uuid: string): Promise<void> {
    const g = this.#require(uuid);
    if (g.copy) g.forced = true;
  }

  async cleanupSource(uuid: string): Promise<void> {
    await this.faults.before('cleanupSource', this.#who(uuid));
    const g = this.#guests.get(uuid);
    if (!g) return;
    if (g.state !== GuestState.POSTMIGRATE) throw new BatonError('MigrationError', `refusing to remove ${uuid} from ${this.#cfg.host}: it is ${g.state}, not migrated`);
    this.#guests.delete(uuid);
    this.#persist();
  }

  async finishIncoming(uuid: string): Promise<void> {
    await this.faults.before('finishIncoming', this.#who(uuid));
    const g = this.#require(uuid);
    if (g.state === GuestState.PAUSED) g.state = GuestState.RUNNING;
    if (g.state !== GuestState.RUNNING) throw new BatonError('MigrationError', `guest ${uuid} on ${this.#cfg.host} is ${g.state}, not running`);
  }

  /** Removes an incoming guest that has not arrived; one that arrived runs here, and is the only copy. */
  async rollbackDestination(uuid: string): Promise<void> {
    await this.faults.before('rollbackDestination', this.#who(uuid));
    const g = this.#guests.get(uuid);
    if (!g) return;
    if (g.state === GuestState.RUNNING || g.state === GuestState.PAUSED) {
      throw switchedOver(this.#cfg.host, uuid, `the incoming guest arrived and is ${g.state} on ${this.#cfg.host}`);
    }
    if (g.state !== GuestState.INCOMING) throw new BatonError('MigrationError', `refusing to remove ${uuid} from ${this.#cfg.host}: it is ${g.state}`);
    await this.destroy(uuid);
  }

  /** Cancels a copy in flight and waits for it to end, then makes sure the guest runs, unless it left. */
  async rollbackSource(uuid: string): Promise<void> {
    await this.faults.before('rollbackSource', this.#who(uuid));
    const g = this.#require(uuid);
    if (g.copy) {
      g.aborted = true;
      await g.copy.promise.catch(() => undefined);
    }
    if (g.state === GuestState.POSTMIGRATE) {
      throw switchedOver(this.#cfg.host, uuid, `the source guest is postmigrate on ${this.#cfg.host}`
        + (g.migrated ? ` (migration ${g.migrated.migrationId} completed)` : ''));
    }
    if (g.state !== GuestState.PAUSED) g.state = GuestState.RUNNING;
    this.#persist();
  }

  async close(): Promise<void> {
    this.#guests.clear();
  }

  /** The guest a fault rule may name, by uuid or name (its name when this host knows it). */
  #who(uuid: string): { uuid: string; name?: string } {
    const name = this.#guests.get(uuid)?.spec.name;
    return name === undefined ? { uuid } : { uuid, name };
  }

  #require(uuid: string): Guest {
    const g = this.#guests.get(uuid);
    if (!g) throw notFound(uuid, this.#cfg.host);
    return g;
  }
}

function newGuest(spec: GuestSpec, state: GuestState): Guest {
  return { spec, state, aborted: false, forced: false, incomingUri: null, copy: null, migrated: null };
}

function notFound(uuid: string, host: string): BatonError {
  return new BatonError('InstanceNotFound', `Instance ${uuid} could not be found on ${host}.`, { uuid, host });
}

function switchedOver(host: string, uuid: string, evidence: string): BatonError {
  return new BatonError('MigrationSwitchedOver', `guest ${uuid} switched over to its destination: ${evidence}`, { host, uuid, evidence });
}
