/**
 * The chaos run's workload, through the HTTP API as an operator would: boots the instances, then requests
 * live migrations until M were requested, keeping a number in flight. Each request picks an idle instance
 * and, by the seed, a named destination or the scheduler's choice; some are aborted or force-completed a
 * moment later. Instances named `vm-fail-*` carry fault plans on every host (their steps fail now and then).
 */
import { seededRandom } from '../src/rpc/transports/fault-transport.js';
import { waitFor } from '../src/services/cluster-ops.js';
import type { ChaosCluster } from './chaos-cluster.js';
import { pickOf } from './chaos-schedule.js';

export interface WorkloadOptions {
  readonly seed: number;
  readonly migrations: number;
  readonly instancesPerHost: number;
  readonly inFlight: number;
  /** Share of requests that name their destination (the rest let the scheduler pick). */
  readonly namedShare: number;
  readonly abortShare: number;
  readonly forceShare: number;
  /** Requests stop after this long even if fewer than M were made (a fleet stuck under faults). */
  readonly deadlineMs: number;
}

export interface WorkloadCounts {
  requested: number;
  accepted: number;
  refused: number;
  aborts: number;
  forceCompletes: number;
  /** HTTP answers that were neither 202 nor a refusal (4xx): 5xx, timeouts. */
  apiErrors: number;
}

const TERMINAL = new Set(['completed', 'failed', 'cancelled', 'error']);

/** Names: vm-<host index>-<n>; every tenth is vm-fail-... (it carries a fault plan). */
export function instanceNames(hosts: number, perHost: number): string[][] {
  return Array.from({ length: hosts }, (_, h) => Array.from({ length: perHost }, (_, n) => {
    const k = h * perHost + n;
    return k % 10 === 3 ? `vm-fail-${h + 1}-${n}` : `vm-${h + 1}-${n}`;
  }));
}

export async function bootInstances(c: ChaosCluster, names: readonly (readonly string[])[]): Promise<string[]> {
  const ids: string[] = [];
  for (const [i, list] of names.entries()) {
    for (const name of list) {
      const r = await c.api('POST', '/v2.1/servers', { server: { name, flavorRef: '1', imageRef: 'cirros', host: c.hosts[i], networks: 'none' } });
      if (r.status !== 202) throw new Error(`booting ${name} failed: ${r.status} ${JSON.stringify(r.json)}`);
      ids.push(r.json.server.id);
    }
  }
  await waitFor(`${ids.length} instances to become active`, async () => {
    const all = await c.store.repo.listInstances();
    const bad = all.find((i) => i.vmState === 'error');
    if (bad) throw new Error(`instance ${bad.name} failed to build`);
    return all.filter((i) => i.vmState === 'active').length === ids.length;
  }, 120_000, 200);
  return ids;
}

export class Workload {
  readonly counts: WorkloadCounts = { requested: 0, accepted: 0, refused: 0, aborts: 0, forceCompletes: 0, apiErrors: 0 };
  readonly #c: ChaosCluster;
  readonly #o: WorkloadOptions;
  readonly #random: () => number;
  readonly #pending = new Set<Promise<void>>();

  constructor(c: ChaosCluster, o: WorkloadOptions) {
    this.#c = c;
    this.#o = o;
    this.#random = seededRandom(o.seed ^ 0x5bd1e995);
  }

  async run(instances: readonly string[], log: (line: string) => void): Promise<void> {
    const end = Date.now() + this.#o.deadlineMs;
    let lastLog = 0;
    while (this.counts.requested < this.#o.migrations && Date.now() < end) {
      const active = await this.#active();
      const idle = instances.filter((id) => !active.has(id));
      const room = this.#o.inFlight - active.size;
      for (let i = 0; i < room && idle.length > 0 && this.counts.requested < this.#o.migrations; i++) {
        const id = idle.splice(Math.floor(this.#random() * idle.length), 1)[0]!;
        await this.#request(id);
      }
      if (Date.now() - lastLog > 10_000) {
        lastLog = Date.now();
        log(`workload: ${this.counts.requested}/${this.#o.migrations} requested, ${this.counts.accepted} accepted, ${active.size} in flight`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    await Promise.allSettled([...this.#pending]);
  }

  async #active(): Promise<Set<string>> {
    const open = await this.#c.store.repo.listMigrations({ status: ['accepted', 'queued', 'preparing', 'running', 'running (post-copy)', 'post-migrating'] });
    return new Set(open.map((m) => m.instanceUuid));
  }

  async #request(id: string): Promise<void> {
    const inst = await this.#c.store.repo.getInstance(id);
    if (!inst || inst.taskState !== null || inst.vmState !== 'active') return;
    const named = this.#random() < this.#o.namedShare;
    const others = this.#c.hosts.filter((h) => h !== inst.host);
    const host = named ? pickOf(others, this.#random()) ?? null : null;
    const follow = this.#random();
    this.counts.requested++;
    const r = await this.#c.api('POST', `/v2.1/servers/${id}/action`, { 'os-migrateLive': { host, block_migration: 'auto' } }).catch(() => null);
    if (r?.status === 202) this.counts.accepted++;
    else if (r && r.status >= 400 && r.status < 500) this.counts.refused++;
    else { this.counts.apiErrors++; return; }
    if (r.status !== 202) return;
    const action = follow < this.#o.abortShare ? 'abort' : follow < this.#o.abortShare + this.#o.forceShare ? 'force' : null;
    if (action) this.#later(id, action, 200 + Math.floor(this.#random() * 2000));
  }

  /** Aborts or force-completes the instance's live migration after `ms`, if it is still in progress then. */
  #later(id: string, action: 'abort' | 'force', ms: number): void {
    const p = (async () => {
      await new Promise((r) => setTimeout(r, ms));
      const m = (await this.#c.store.repo.listMigrations({ instanceUuid: id })).find((x) => !TERMINAL.has(x.status));
      if (!m) return;
      const r = action === 'abort'
        ? await this.#c.api('DELETE', `/v2.1/servers/${id}/migrations/${m.id}`, undefined, '2.65')
        : await this.#c.api('POST', `/v2.1/servers/${id}/migrations/${m.id}/action`, { force_complete: null }, '2.22');
      if (r.status === 202) {
        if (action === 'abort') this.counts.aborts++;
        else this.counts.forceCompletes++;
      }
    })().catch(() => undefined);
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p));
  }
}
