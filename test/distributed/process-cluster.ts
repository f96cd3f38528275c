/**
 * A throwaway deployment with an API: `baton api`, conductors and fake computes as OS processes on the
 * local RabbitMQ and PostgreSQL, in a fresh exchange and schema, each with its own config file (a compute
 * can carry extra keys, e.g. compute.fake.faults). The test talks to the API process over HTTP as an
 * admin would, and reads the store directly. stop() removes every process, queue, schema and file.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seedFlavors, waitFor } from '../../src/services/cluster-ops.js';
import { createPostgresStore, dropPostgresSchema } from '../../src/store/postgres/postgres-store.js';
import type { Store } from '../../src/store/store.js';
import { AMQP_URL, PG_URL } from '../store/service-gate.js';
import { deleteBrokerObjects, ProcessGroup, type BatonProcess } from './process-harness.js';

const PASSWORD = 'pc-admin-pw';

export interface ClusterOptions {
  /** conductor section shared by every process (timings, limits, drain). */
  readonly conductor?: Record<string, unknown>;
  /** compute section of every compute; `computeExtra` adds to one host's. */
  readonly compute?: Record<string, unknown>;
  readonly computeExtra?: Readonly<Record<string, Record<string, unknown>>>;
}

export class ProcessCluster {
  readonly id = `${process.pid}_${Date.now().toString(36)}`;
  readonly dir = mkdtempSync(join(tmpdir(), 'baton-pc-'));
  readonly exchange = `baton-pc-${this.id}`;
  readonly schema = `baton_pc_${this.id}`;
  readonly group = new ProcessGroup();
  readonly conductors = new Map<string, BatonProcess>();
  readonly #opts: ClusterOptions;
  readonly #hosts: string[] = [];
  #store: Store | null = null;
  #url = '';
  #token: string | null = null;

  constructor(opts: ClusterOptions = {}) {
    this.#opts = opts;
  }

  get store(): Store {
    if (!this.#store) throw new Error('cluster not started');
    return this.#store;
  }

  #config(compute: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      transport: { url: AMQP_URL, exchange: this.exchange },
      database: { url: PG_URL, schema: this.schema, maxConnections: 4 },
      conductor: { tickMs: 100, startGraceMs: 2000, ...this.#opts.conductor },
      // Each host's journal and fake registry live in this cluster's directory, not in the shared default
      // (<tmpdir>/baton-compute), where guests of an earlier run on the same host names would be found again.
      compute: { reportIntervalMs: 1000, stateDir: join(this.dir, 'state'), ...this.#opts.compute, ...compute },
      api: { host: '127.0.0.1', port: 0, auth: { users: [{ name: 'admin', password: PASSWORD, project: 'admin', roles: ['admin'] }] } },
    };
  }

  #env(name: string, config: Record<string, unknown>): NodeJS.ProcessEnv {
    const path = join(this.dir, `${name}.json`);
    writeFileSync(path, JSON.stringify(config));
    const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BATON')));
    return { ...env, BATON_CONFIG: path, BATON_LOG_LEVEL: 'warn' };
  }

  /** Starts the api, the named conductors and one fake compute per host; resolves when every one is ready and reported. */
  async start(conductors: readonly string[], hosts: readonly string[]): Promise<void> {
    this.#store = await createPostgresStore({ url: PG_URL, schema: this.schema, maxConnections: 4 });
    await seedFlavors(this.#store);
    this.#hosts.push(...hosts);
    const procs = conductors.map((c) => {
      const p = this.group.start(c, ['conductor', '--name', c], this.#env(c, this.#config()));
      this.conductors.set(c, p);
      return p;
    });
    for (const h of hosts) {
      procs.push(this.group.start(h, ['compute', '--host', h, '--driver', 'fake'], this.#env(h, this.#config(this.#opts.computeExtra?.[h]))));
    }
    const api = this.group.start('api', ['api'], this.#env('api', this.#config()));
    await Promise.all([...procs, api].map((p) => p.waitFor(/ ready: /, 90_000)));
    this.#url = /ready: (http:\/\/\S+)/.exec(await api.waitFor(/ready: http/, 1000))![1]!;
    await waitFor('every compute to report', async () => (await this.store.repo.listServices()).length === hosts.length, 30_000, 100);
  }

  /** A request to the API process at `version` (default the newest), as its admin. */
  async api(method: string, path: string, body?: unknown, version = '2.92'): Promise<{ status: number; json: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
    this.#token ??= await this.#login();
    const res = await fetch(`${this.#url}${path}`, { method, headers: { 'x-auth-token': this.#token, 'openstack-api-version': `compute ${version}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : null };
  }

  async #login(): Promise<string> {
    const res = await fetch(`${this.#url}/identity/v3/auth/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' },
        password: PASSWORD } } }, scope: { project: { name: 'admin', domain: { id: 'default' } } } } }) });
    assert.equal(res.status, 201, await res.clone().text());
    return res.headers.get('x-subject-token')!;
  }

  /** Boots `names` on `host` through the API and waits until every one is active; returns their uuids in order. */
  async boot(names: readonly string[], host: string, flavor = 'm1.tiny'): Promise<string[]> {
    const ids: string[] = [];
    for (const name of names) {
      const r = await this.api('POST', '/v2.1/servers', { server: { name, flavorRef: flavor, imageRef: 'cirros', host, networks: 'none' } });
      assert.equal(r.status, 202, JSON.stringify(r.json));
      ids.push(r.json.server.id);
    }
    await waitFor(`${names.length} instances on ${host} to become active`, async () => {
      const all = await Promise.all(ids.map((id) => this.store.repo.getInstance(id)));
      if (all.some((i) => i?.vmState === 'error')) throw new Error('an instance failed to build');
      return all.every((i) => i?.vmState === 'active');
    }, 60_000, 100);
    return ids;
  }

  /**
   * The acceptance check a scenario ends with: a reconcile/audit pass run now by a conductor (through the
   * API) finds no anomaly, and nothing was ever repaired in this deployment.
   */
  async assertCleanAudit(): Promise<void> {
    const r = await this.api('POST', '/v2.1/baton/audit');
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const audit = r.json.audit as { anomalies: { kind: string; message: string }[]; repairs: { message: string }[] };
    assert.deepEqual(audit.anomalies.map((a) => `${a.kind}: ${a.message}`), [], 'the audit finds no anomaly');
    assert.deepEqual(audit.repairs.map((x) => x.message), [], 'the audit never had anything to repair');
  }

  tails(): string {
    return this.group.tails();
  }

  async stop(): Promise<void> {
    await this.group.stopAll();
    await this.#store?.close().catch(() => undefined);
    await dropPostgresSchema(PG_URL, this.schema).catch(() => undefined);
    await deleteBrokerObjects(AMQP_URL, this.exchange, ['conductor', ...this.#hosts.map((h) => `compute.${h}`)]).catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
