/**
 * Carries out a chaos schedule against a ChaosCluster, one fault after another: SIGKILL and restart of a
 * conductor, SIGKILL and restart of the source or destination of a running migration, SIGSTOP/SIGCONT of a
 * conductor, a RabbitMQ stop_app/start_app, and pg_terminate_backend of this run's conductors' sessions.
 * The broker is always started again, even when the run is interrupted mid-outage.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { PG_URL } from '../test/store/service-gate.js';
import type { ChaosCluster } from './chaos-cluster.js';
import { pickOf, type FaultEvent, type ProcessFault } from './chaos-schedule.js';

const run = promisify(execFile);
const ACTIVE = ['preparing', 'running', 'running (post-copy)', 'post-migrating'];

export interface InjectedFault {
  readonly kind: ProcessFault;
  readonly target: string;
  readonly at: number;
  readonly endedAt: number;
}

export class FaultInjector {
  readonly #cluster: ChaosCluster;
  readonly injected: InjectedFault[] = [];
  #brokerDown = false;
  #stopped = false;

  constructor(cluster: ChaosCluster) {
    this.#cluster = cluster;
  }

  /** Runs the schedule from `start` (epoch ms); resolves when the last fault is over or stop() was called. */
  async run(schedule: readonly FaultEvent[], start: number, log: (line: string) => void): Promise<void> {
    for (const e of schedule) {
      const wait = start + e.at - Date.now();
      if (wait > 0) await this.#sleep(wait);
      if (this.#stopped) return;
      const at = Date.now();
      const target = await this.#inject(e);
      this.injected.push({ kind: e.kind, target, at, endedAt: Date.now() });
      log(`fault ${this.injected.length}/${schedule.length} at +${Math.round((at - start) / 1000)}s: ${e.kind} ${target} (${Date.now() - at} ms)`);
    }
  }

  stop(): void {
    this.#stopped = true;
  }

  /** Starts the broker if a fault left it stopped (interrupted run). */
  async ensureBrokerUp(): Promise<void> {
    if (this.#brokerDown) await run('rabbitmqctl', ['-q', 'start_app'], { timeout: 120_000 });
    this.#brokerDown = false;
  }

  async #inject(e: FaultEvent): Promise<string> {
    const c = this.#cluster;
    switch (e.kind) {
      case 'conductor-kill': {
        const name = pickOf(c.conductorNames, e.pick)!;
        await c.crashAndRestart(name, e.holdMs);
        return name;
      }
      case 'compute-kill': {
        const { host, why } = await this.#busyHost(e);
        await c.crashAndRestart(host, e.holdMs);
        return `${host} (${why})`;
      }
      case 'conductor-freeze': {
        const name = pickOf(c.conductorNames, e.pick)!;
        const p = c.process(name);
        p.freeze();
        await this.#sleep(e.holdMs);
        p.thaw();
        return name;
      }
      case 'broker-restart':
        this.#brokerDown = true;
        await run('rabbitmqctl', ['-q', 'stop_app'], { timeout: 120_000 });
        await this.#sleep(e.holdMs);
        await this.ensureBrokerUp();
        return 'rabbitmq';
      case 'pg-terminate':
        return `${await this.#terminateBackends()} sessions`;
    }
  }

  /** The source or destination of a migration running now; any host if none runs. */
  async #busyHost(e: FaultEvent): Promise<{ host: string; why: string }> {
    const active = (await this.#cluster.store.repo.listMigrations({ status: ACTIVE })).sort((a, b) => a.id - b.id);
    const m = pickOf(active, e.pick);
    if (!m) return { host: pickOf(this.#cluster.hosts, e.pick)!, why: 'no migration was running' };
    const source = e.side < 0.5 || !m.destCompute;
    return { host: source ? m.sourceCompute : m.destCompute!, why: `${source ? 'source' : 'destination'} of migration ${m.id}, ${m.status}` };
  }

  async #terminateBackends(): Promise<number> {
    const client = new pg.Client({ connectionString: PG_URL, application_name: 'chaos-injector' });
    await client.connect();
    try {
      const r = await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE $1 AND pid <> pg_backend_pid()',
        [this.#cluster.pgApplicationPattern]);
      return r.rowCount ?? 0;
    } finally {
      await client.end();
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
  }
}
