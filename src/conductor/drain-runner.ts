/**
 * Runs the server-side drains kept in the store. Any conductor's tick picks the drains that are due
 * (FOR UPDATE SKIP LOCKED, so two conductors never run one drain at once) and runs one pass of each in
 * one transaction: the drain row locked, the facts read, the pure pass applied (core/drain.ts), the
 * migrations it asks for recorded, the drain saved. The migrations it recorded are started, and the
 * ones it cancels aborted, after the commit; a conductor that dies in between leaves them to the other
 * conductors' timers (a recorded migration starts after startGraceMs) or to the next pass.
 */
import { BatonError } from '../core/errors.js';
import {
  drainPass, drainWakeup, isDrainOver, isItemSettled, migrationRefused, migrationStarted, type DrainFacts, type DrainMigration,
  type DrainState,
} from '../core/drain.js';
import type { WorkflowEvent } from '../core/migration-state.js';
import { MigrationStatus, TERMINAL_STATUSES } from '../core/migration-status.js';
import type { Instance } from '../core/model.js';
import type { Clock, IdGenerator } from '../core/ports.js';
import { recordLiveMigration } from '../store/live-migration-record.js';
import type { MigrationRow, Repo, Store } from '../store/store.js';
import type { ConductorConfig } from './conductor-config.js';

export interface DrainDeps {
  readonly name: string;
  readonly store: Store;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly config: ConductorConfig;
  readonly apply: (migrationId: number, e: WorkflowEvent) => Promise<unknown>;
  readonly log: (msg: string) => void;
}

interface PassResult {
  readonly started: number[];
  readonly aborts: number[];
}

export class DrainRunner {
  readonly #d: DrainDeps;
  readonly #inFlight = new Set<string>();
  #looking = false;

  constructor(d: DrainDeps) {
    this.#d = d;
  }

  /** Runs a pass of every drain that is due; resolves when they are done. */
  async tick(): Promise<void> {
    if (this.#looking) return;
    this.#looking = true;
    let due: string[];
    try {
      due = await this.#d.store.repo.dueDrains(this.#d.clock.now(), 20, [...this.#inFlight]);
    } catch (e) {
      this.#d.log(`drain tick failed: ${String(e)}`);
      return;
    } finally {
      this.#looking = false;
    }
    await Promise.all(due.filter((h) => !this.#inFlight.has(h)).map((h) => this.#run(h)));
  }

  async #run(host: string): Promise<void> {
    this.#inFlight.add(host);
    try {
      const r = await this.pass(host);
      if (!r) return;
      await Promise.all([...r.started.map((id) => this.#applyLogged(id, { type: 'start' })),
        ...r.aborts.map((id) => this.#applyLogged(id, { type: 'abort' }))]);
    } catch (e) {
      this.#d.log(`drain of ${host}: pass failed: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      this.#inFlight.delete(host);
    }
  }

  async #applyLogged(id: number, e: WorkflowEvent): Promise<void> {
    await this.#d.apply(id, e).catch((err: unknown) => this.#d.log(`migration ${id}: applying ${e.type} for a drain failed: ${String(err)}`));
  }

  /** One pass of `host`'s drain, if it is still due once its row is locked; null otherwise. */
  pass(host: string): Promise<PassResult | null> {
    return this.#d.store.transaction(async (tx) => {
      const row = await tx.getDrain(host, { lock: true });
      const now = this.#d.clock.now();
      if (!row || isDrainOver(row.status) || row.nextWakeup === null || row.nextWakeup > now) return null;
      const facts = await readFacts(tx, row.state, now, this.#d.name);
      const { state, commands } = drainPass(row.state, facts, this.#d.config.drain);
      let next = state;
      const started: number[] = [];
      const aborts: number[] = [];
      for (const c of commands) {
        if (c.type === 'abort') aborts.push(c.migrationId);
        else next = await this.#record(tx, next, c.instanceUuid, now, started);
      }
      await tx.saveDrain(host, row.version, { status: next.status, state: next, nextWakeup: drainWakeup(next, now, this.#d.config.drain),
        updatedAt: now });
      return { started, aborts };
    });
  }

  /** Records a live migration of one instance, to a host the scheduler picks; a refusal counts as an attempt. */
  async #record(tx: Repo, s: DrainState, uuid: string, now: number, started: number[]): Promise<DrainState> {
    let m: MigrationRow;
    try {
      m = await recordLiveMigration(tx, { instanceUuid: uuid, host: null, blockMigration: 'auto', projectId: s.projectId, userId: s.userId },
        { now, uuid: this.#d.ids.uuid(), startAfterMs: this.#d.config.startGraceMs });
    } catch (e) {
      if (!(e instanceof BatonError)) throw e;
      return migrationRefused(s, uuid, `${e.code}: ${e.message}`, this.#d.config.drain);
    }
    started.push(m.id);
    return migrationStarted(s, uuid, m.id);
  }
}

const LIVE_STATUSES = Object.values(MigrationStatus).filter((st) => !TERMINAL_STATUSES.includes(st));

function drainMigration(m: MigrationRow): DrainMigration {
  return { id: m.id, status: m.status, error: m.error ?? m.state.error, admission: m.admission, destCompute: m.destCompute };
}

/** What a pass needs, read in its transaction: the host's instances, the items' instances and migrations. */
async function readFacts(tx: Repo, s: DrainState, now: number, conductor: string): Promise<DrainFacts> {
  const onHost = await tx.listInstances({ host: s.host });
  const instances = new Map<string, Instance>(onHost.map((i) => [i.uuid, i]));
  const outgoing = await tx.listMigrations({ sourceCompute: s.host, status: LIVE_STATUSES });
  const migrations = new Map<number, DrainMigration>(outgoing.map((m) => [m.id, drainMigration(m)]));
  const active = new Map(outgoing.map((m) => [m.instanceUuid, m.id]));
  for (const it of s.items) {
    if (isItemSettled(it)) continue;
    if (!instances.has(it.instanceUuid)) {
      const inst = await tx.getInstance(it.instanceUuid);
      if (inst) instances.set(inst.uuid, inst);
    }
    if (it.migrationId !== null && !migrations.has(it.migrationId)) {
      const m = await tx.getMigration(it.migrationId);
      if (m) migrations.set(m.id, drainMigration(m));
    }
  }
  return { now, conductor, onHost, instances, migrations, active };
}
