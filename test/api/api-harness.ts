/**
 * A real listening API (127.0.0.1, ephemeral port) over an embedded cluster whose fake drivers run on the
 * wall clock: copies are instant until a test slows a host down with `slowHost`.
 */
import { FakeDriver } from '../../src/compute/drivers/fake/fake-driver.js';
import type { Instance } from '../../src/core/model.js';
import { DEFAULT_EMBEDDED_AUTH, type AuthConfig } from '../../src/api/auth/auth-config.js';
import type { PolicyOverrides } from '../../src/api/auth/policy-rules.js';
import { startApiServer } from '../../src/api/http/api-server.js';
import { requestCreateServer } from '../../src/api/server-request.js';
import { systemClock } from '../../src/runtime/system-clock.js';
import { startEmbedded, type EmbeddedCluster } from '../../src/services/embedded-cluster.js';
import { seedFlavors, waitFor, waitForHosts } from '../../src/services/cluster-ops.js';

export const HOSTS = ['compute-1', 'compute-2', 'compute-3'] as const;

export interface CallOptions {
  readonly token?: string | null;
  readonly version?: string;
  readonly legacyVersion?: string;
  readonly body?: unknown;
  readonly rawBody?: string;
  readonly headers?: Record<string, string>;
}

export interface CallResult {
  readonly status: number;
  readonly headers: Headers;
  readonly json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  readonly text: string;
}

export interface Harness {
  readonly url: string;
  readonly cluster: EmbeddedCluster;
  readonly adminToken: string;
  readonly demoToken: string;
  token(user: string, password: string, project?: string): Promise<string>;
  call(method: string, path: string, o?: CallOptions): Promise<CallResult>;
  boot(name: string, host: string, project?: string, flavor?: string): Promise<Instance>;
  /**
   * Makes migrations from `host` copy memory in real time: the first pass of a 2 GiB guest takes `seconds`,
   * and a dirty rate of `dirtyFraction` of the bandwidth adds shorter passes (progress comes after each pass).
   */
  slowHost(host: string, seconds: number, dirtyFraction?: number): void;
  close(): Promise<void>;
}

export async function startHarness(o: { auth?: AuthConfig | null; policy?: PolicyOverrides } = {}): Promise<Harness> {
  const cluster = await startEmbedded({ dataDir: null, hosts: HOSTS, log: () => undefined, driverClock: systemClock,
    conductor: { workflow: { retryBackoffMs: 50 } } });
  const auth = o.auth === undefined ? DEFAULT_EMBEDDED_AUTH : o.auth;
  const api = await startApiServer({ requests: cluster.requests, auth, policy: o.policy ?? {}, serviceDownTimeMs: 60_000, publicUrl: null,
    log: () => undefined }, { host: '127.0.0.1', port: 0 });
  await seedFlavors(cluster.store);
  await waitForHosts(cluster.store, HOSTS);
  const call = async (method: string, path: string, c: CallOptions = {}): Promise<CallResult> => {
    const headers: Record<string, string> = { ...(c.headers ?? {}) };
    if (c.token) headers['X-Auth-Token'] = c.token;
    if (c.version) headers['OpenStack-API-Version'] = `compute ${c.version}`;
    if (c.legacyVersion) headers['X-OpenStack-Nova-API-Version'] = c.legacyVersion;
    const body = c.rawBody ?? (c.body === undefined ? undefined : JSON.stringify(c.body));
    if (body !== undefined && headers['Content-Type'] === undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(`${api.url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await res.text();
    let json: unknown = null;
    try { json = text ? JSON.parse(text) : null; } catch { json = null; }
    return { status: res.status, headers: res.headers, json, text };
  };
  const token = async (user: string, password: string, project?: string): Promise<string> => {
    const r = await call('POST', '/identity/v3/auth/tokens', { body: { auth: {
      identity: { methods: ['password'], password: { user: { name: user, domain: { name: 'Default' }, password } } },
      ...(project ? { scope: { project: { name: project, domain: { name: 'Default' } } } } : {}) } } });
    if (r.status !== 201) throw new Error(`token for ${user}: ${r.status} ${r.text}`);
    return r.headers.get('x-subject-token')!;
  };
  const adminToken = auth ? await token('admin', 'admin', 'admin') : '';
  const demoToken = auth ? await token('demo', 'demo', 'demo') : '';
  return {
    url: api.url, cluster, adminToken, demoToken, token, call,
    async boot(name, host, project = 'demo', flavor = '2') {
      const inst = await requestCreateServer(cluster.requests, { name, flavorRef: flavor, imageRef: 'cirros', host, projectId: project, userId: project });
      return waitFor(`${name} to become active`, async () => {
        const i = await cluster.store.repo.getInstance(inst.uuid);
        return i?.vmState === 'active' ? i : undefined;
      });
    },
    slowHost(host, seconds, dirtyFraction = 0) {
      const d = cluster.drivers.get(host) as FakeDriver;
      d.policy = { ...d.policy, bandwidthMibs: 2048 / seconds, dirtyRateMibs: (2048 / seconds) * dirtyFraction };
    },
    async close() {
      await api.close();
      await cluster.stop();
    },
  };
}
