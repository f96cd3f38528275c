/**
 * A throwaway distributed deployment for fault tests: conductors and computes as `baton` OS processes on
 * the local RabbitMQ and PostgreSQL, each with its own config file, in a fresh exchange and schema. The
 * test process opens the same store and an RPC client on the same exchange, so it can request migrations
 * the way the API does and ask a conductor for an audit. stop() removes every process, QEMU, queue,
 * schema and file it made.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'amqplib';
import type { RequestDeps } from '../../src/api/live-migration-request.js';
import type { AuditPass } from '../../src/core/audit-report.js';
import { CONDUCTOR_RPC_VERSION, ConductorMethod } from '../../src/rpc/conductor-api.js';
import { RpcClient } from '../../src/rpc/rpc-client.js';
import { CONDUCTOR_TOPIC, type Transport } from '../../src/rpc/transport.js';
import { createAmqpTransport } from '../../src/rpc/transports/amqp/amqp-transport.js';
import { randomIds, systemClock } from '../../src/runtime/system-clock.js';
import { seedFlavors, waitFor } from '../../src/services/cluster-ops.js';
import { createPostgresStore, dropPostgresSchema } from '../../src/store/postgres/postgres-store.js';
import type { Store } from '../../src/store/store.js';
import { qemuPidsUnder } from '../qemu/qemu-harness.js';
import type { Audited } from '../support/clean-audit.js';
import { AMQP_URL, PG_URL } from '../store/service-gate.js';
import { ProcessGroup, type BatonProcess } from './process-harness.js';

export interface DeploymentOptions {
  /** Config sections shared by every process (conductor timings, compute.fake policy, ...). */
  readonly conductor?: Record<string, unknown>;
  readonly compute?: Record<string, unknown>;
}

export interface ComputeOptions {
  readonly driver: 'fake' | 'qemu';
  /** compute.qemu options for this host (its stateDir is set here, under the deployment's directory). */
  readonly qemu?: Record<string, unknown>;
}

export class Deployment {
  readonly id = `${process.pid}_${Date.now().toString(36)}`;
  readonly dir = mkdtempSync(join(tmpdir(), 'baton-dep-'));
  readonly exchange = `baton-dep-${this.id}`;
  readonly schema = `baton_dep_${this.id}`;
  readonly group = new ProcessGroup();
  readonly #opts: DeploymentOptions;
  readonly #hosts = new Set<string>();
  #store: Store | null = null;
  #transport: Transport | null = null;
  #rpc: RpcClient | null = null;

  constructor(opts: DeploymentOptions = {}) {
    this.#opts = opts;
  }

  get store(): Store {
    if (!this.#store) throw new Error('deployment not opened');
    return this.#store;
  }

  /** What the API would use to record a migration and cast it to a conductor. */
  get requests(): RequestDeps {
    return { store: this.store, rpc: this.#rpc!, clock: systemClock, ids: randomIds, startGraceMs: 3000 };
  }

  async open(): Promise<void> {
    this.#store = await createPostgresStore({ url: PG_URL, schema: this.schema, maxConnections: 4 });
    await seedFlavors(this.#store);
    this.#transport = await createAmqpTransport({ url: AMQP_URL, exchange: this.exchange, prefetch: 64, heartbeatSec: 10 });
    this.#rpc = new RpcClient(this.#transport, { role: 'api', host: 'fault-test' });
  }

  #env(config: Record<string, unknown>, name: string): NodeJS.ProcessEnv {
    const path = join(this.dir, `${name}.json`);
    writeFileSync(path, JSON.stringify(config));
    const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BATON')));
    return { ...env, BATON_CONFIG: path, BATON_LOG_LEVEL: 'info' };
  }

  #base(): Record<string, unknown> {
    return {
      transport: { url: AMQP_URL, exchange: this.exchange },
      database: { url: PG_URL, schema: this.schema, maxConnections: 4 },
      conductor: { tickMs: 100, startGraceMs: 3000, serviceDownTimeMs: 10_000, ...this.#opts.conductor },
      compute: { reportIntervalMs: 1000, ...this.#opts.compute },
    };
  }

  /** Starts `baton conductor --name NAME` and waits until it is ready. */
  async startConductor(name: string): Promise<BatonProcess> {
    const p = this.group.start(name, ['conductor', '--name', name], this.#env(this.#base(), name));
    await p.waitFor(/ ready: /, 60_000);
    return p;
  }

  /** Starts `baton compute --host HOST`; its journal and QEMU state live under this deployment's directory. */
  async startCompute(host: string, o: ComputeOptions): Promise<BatonProcess> {
    this.#hosts.add(host);
    const hostDir = join(this.dir, host);
    mkdirSync(hostDir, { recursive: true });
    const base = this.#base();
    const compute = { ...(base['compute'] as Record<string, unknown>), stateDir: hostDir,
      ...(o.driver === 'qemu' ? { qemu: { stateDir: join(hostDir, 'qemu'), ...o.qemu } } : {}) };
    const p = this.group.start(host, ['compute', '--host', host, '--driver', o.driver], this.#env({ ...base, compute }, host));
    await p.waitFor(/ ready: /, 60_000);
    return p;
  }

  /** Asks a conductor to run a reconcile/audit pass now (as the API's POST /v2.1/baton/audit does) and reads it back from the store. */
  async runAudit(): Promise<AuditPass> {
    await this.#rpc!.call(CONDUCTOR_TOPIC, ConductorMethod.RUN_AUDIT, {}, { version: CONDUCTOR_RPC_VERSION, timeoutMs: 60_000 });
    const pass = await this.store.repo.getAuditPass();
    if (!pass) throw new Error('a conductor ran an audit pass but none is stored');
    return pass;
  }

  /** What test/support/clean-audit.ts needs: a conductor to ask and the store. */
  get audited(): Audited {
    return { conductor: { runAudit: () => this.runAudit() }, store: this.store };
  }

  async waitForHosts(hosts: readonly string[], timeoutMs = 30_000): Promise<void> {
    await waitFor(`hosts ${hosts.join(', ')} to report`, async () => {
      const known = new Set((await this.store.repo.listServices()).map((s) => s.host));
      return hosts.every((h) => known.has(h));
    }, timeoutMs, 100);
  }

  tails(): string {
    return this.group.tails();
  }

  async stop(): Promise<void> {
    await this.group.stopAll();
    // Computes leave their QEMUs running on purpose (an agent restart adopts them): the test's are killed here.
    for (const pid of qemuPidsUnder(this.dir)) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
    }
    await this.#transport?.close().catch(() => undefined);
    await this.#store?.close().catch(() => undefined);
    await dropPostgresSchema(PG_URL, this.schema).catch(() => undefined);
    await this.#deleteBrokerObjects().catch(() => undefined);
    await waitFor('test QEMUs to exit', async () => qemuPidsUnder(this.dir).length === 0, 10_000, 50).catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }

  async #deleteBrokerObjects(): Promise<void> {
    const c = await connect(AMQP_URL);
    try {
      const ch = await c.createChannel();
      for (const topic of ['conductor', 'dead-letter', ...[...this.#hosts].map((h) => `compute.${h}`)]) await ch.deleteQueue(`${this.exchange}.${topic}`);
      await ch.deleteExchange(this.exchange);
    } finally {
      await c.close();
    }
  }
}

