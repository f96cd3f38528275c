/**
 * The fleet a chaos run attacks: `baton api`, conductors and fake computes as OS processes on the local
 * RabbitMQ and PostgreSQL, in a fresh exchange and schema named after the run. Each process has its own
 * config file (message faults with its own seed; slow hosts and step-failure plans on computes) and can be
 * killed, frozen and restarted with the same config, so a restarted compute finds its journal and its fake
 * hypervisor's registry. destroy() removes every process, queue, schema and file, whatever state it is in.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connect } from 'amqplib';
import type { MessageFaults } from '../src/rpc/transports/fault-transport.js';
import { seedFlavors, waitFor } from '../src/services/cluster-ops.js';
import { createPostgresStore, dropPostgresSchema } from '../src/store/postgres/postgres-store.js';
import type { Store } from '../src/store/store.js';
import { ProcessGroup, type BatonProcess } from '../test/distributed/process-harness.js';
import { AMQP_URL, PG_URL } from '../test/store/service-gate.js';

const run = promisify(execFile);
const PASSWORD = 'chaos-admin-pw';

export interface ClusterSpec {
  readonly seed: number;
  readonly conductors: number;
  readonly computes: number;
  /** Message fault rates of every process; null: none. */
  readonly messageFaults: Omit<MessageFaults, 'seed'> | null;
  /** compute.fake.faults of each host, by host name. */
  readonly hostFaults: (host: string) => readonly Record<string, unknown>[];
  readonly conductor: Record<string, unknown>;
  readonly fake: Record<string, unknown>;
}

export class ChaosCluster {
  readonly id: string;
  readonly dir = mkdtempSync(join(tmpdir(), 'baton-chaos-'));
  readonly exchange: string;
  readonly schema: string;
  readonly group = new ProcessGroup();
  readonly conductorNames: string[];
  readonly hosts: string[];
  readonly #spec: ClusterSpec;
  readonly #procs = new Map<string, BatonProcess>();
  readonly #configs = new Map<string, { args: string[]; env: NodeJS.ProcessEnv }>();
  #store: Store | null = null;
  #url = '';
  #token: string | null = null;
  #nextSeed: number;

  constructor(spec: ClusterSpec) {
    this.#spec = spec;
    this.id = `${process.pid}_${Date.now().toString(36)}`;
    this.exchange = `baton-chaos-${this.id}`;
    this.schema = `baton_chaos_${this.id}`;
    this.conductorNames = Array.from({ length: spec.conductors }, (_, i) => `chaos-${this.id}-c${i + 1}`);
    this.hosts = Array.from({ length: spec.computes }, (_, i) => `compute-${i + 1}`);
    this.#nextSeed = spec.seed * 7919;
  }

  get store(): Store {
    if (!this.#store) throw new Error('chaos cluster not started');
    return this.#store;
  }

  /** The sessions pg_terminate_backend may end: this run's conductors' only. */
  get pgApplicationPattern(): string {
    return `baton-conductor chaos-${this.id}-%`;
  }

  process(name: string): BatonProcess {
    const p = this.#procs.get(name);
    if (!p) throw new Error(`no process ${name}`);
    return p;
  }

  registryPath(host: string): string {
    return join(this.dir, 'state', host, 'fake-registry.json');
  }

  #config(extra: { compute?: Record<string, unknown> } = {}): Record<string, unknown> {
    const faults = this.#spec.messageFaults ? { faults: { seed: this.#nextSeed++, ...this.#spec.messageFaults } } : {};
    return {
      transport: { url: AMQP_URL, exchange: this.exchange, ...faults },
      database: { url: PG_URL, schema: this.schema, maxConnections: 4 },
      conductor: { tickMs: 100, startGraceMs: 3000, serviceDownTimeMs: 15_000, ...this.#spec.conductor },
      compute: { reportIntervalMs: 1000, stateDir: join(this.dir, 'state'), ...extra.compute },
      api: { host: '127.0.0.1', port: 0, auth: { users: [{ name: 'admin', password: PASSWORD, project: 'admin', roles: ['admin'] }] } },
    };
  }

  #define(name: string, args: string[], config: Record<string, unknown>): void {
    const path = join(this.dir, `${name}.json`);
    writeFileSync(path, JSON.stringify(config));
    const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BATON')));
    this.#configs.set(name, { args, env: { ...env, BATON_CONFIG: path, BATON_LOG_LEVEL: 'warn' } });
  }

  #launch(name: string): BatonProcess {
    const c = this.#configs.get(name)!;
    const p = this.group.start(name, c.args, c.env);
    this.#procs.set(name, p);
    return p;
  }

  async start(): Promise<void> {
    mkdirSync(join(this.dir, 'state'), { recursive: true });
    this.#store = await createPostgresStore({ url: PG_URL, schema: this.schema, maxConnections: 4, applicationName: `chaos-runner ${this.id}` });
    await seedFlavors(this.#store);
    for (const c of this.conductorNames) this.#define(c, ['conductor', '--name', c], this.#config());
    for (const h of this.hosts) {
      this.#define(h, ['compute', '--host', h, '--driver', 'fake'], this.#config({ compute: { fake: { ...this.#spec.fake, faults: this.#spec.hostFaults(h) } } }));
    }
    this.#define('api', ['api'], this.#config());
    // Started a few at a time: a 2-core machine starting a dozen tsx processes at once times them out.
    const names = [...this.conductorNames, ...this.hosts, 'api'];
    for (let i = 0; i < names.length; i += 4) {
      await Promise.all(names.slice(i, i + 4).map((n) => this.#launch(n).waitFor(/ ready: /, 120_000)));
    }
    this.#url = /ready: (http:\/\/\S+)/.exec(await this.process('api').waitFor(/ready: http/, 1000))![1]!;
    await waitFor('every compute to report', async () => (await this.store.repo.listServices()).length === this.hosts.length, 60_000, 200);
  }

  /** SIGKILL, then the same process again after `downMs`; resolves once it is ready. */
  async crashAndRestart(name: string, downMs: number): Promise<void> {
    await this.process(name).crash();
    await new Promise((r) => setTimeout(r, downMs));
    await this.#launch(name).waitFor(/ ready: /, 120_000);
  }

  /** A request to the API process as its admin (newest microversion unless given). */
  async api(method: string, path: string, body?: unknown, version = '2.92'): Promise<{ status: number; json: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
    this.#token ??= await this.#login();
    const res = await fetch(`${this.#url}${path}`, { method, headers: { 'x-auth-token': this.#token, 'openstack-api-version': `compute ${version}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(60_000) });
    const text = await res.text();
    let json: unknown = null;
    try { json = text ? JSON.parse(text) : null; } catch { json = { text }; }
    return { status: res.status, json };
  }

  async #login(): Promise<string> {
    const res = await fetch(`${this.#url}/identity/v3/auth/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' },
        password: PASSWORD } } }, scope: { project: { name: 'admin', domain: { id: 'default' } } } } }) });
    if (res.status !== 201) throw new Error(`login to the chaos API failed: ${res.status} ${await res.text()}`);
    return res.headers.get('x-subject-token')!;
  }

  /** Every line any process of the run (including killed ones) wrote. */
  *lines(): Generator<string> {
    for (const p of this.group.all) yield* p.output;
  }

  /** This run's queues on the broker, as rabbitmqctl lists them. */
  async queues(): Promise<string[]> {
    const { stdout } = await run('rabbitmqctl', ['-q', 'list_queues', 'name'], { timeout: 60_000 });
    return stdout.split('\n').map((l) => l.trim()).filter((q) => q.startsWith(`${this.exchange}.`));
  }

  /** Stops the processes (thawing frozen ones), then drops the schema, the queues and exchange, and the files. */
  async destroy(): Promise<void> {
    await this.group.stopAll();
    await this.#store?.close().catch(() => undefined);
    this.#store = null;
    await dropPostgresSchema(PG_URL, this.schema).catch(() => undefined);
    const queues = await this.queues().catch(() => [] as string[]);
    await deleteBrokerObjects(this.exchange, queues).catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

async function deleteBrokerObjects(exchange: string, queues: readonly string[]): Promise<void> {
  const c = await connect(AMQP_URL);
  try {
    const ch = await c.createChannel();
    for (const q of queues) await ch.deleteQueue(q);
    await ch.deleteExchange(exchange);
  } finally {
    await c.close();
  }
}
