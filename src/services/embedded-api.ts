/**
 * Composition of the embedded API for `baton up`: the cluster options its flags imply
 * (--slow-migrations), and the server started over the embedded cluster, with a loud warning under --no-auth.
 */
import type { FakeMigrationPolicy } from '../compute/drivers/fake/fake-driver.js';
import type { Clock } from '../core/ports.js';
import type { LogFn } from '../runtime/logger.js';
import { systemClock } from '../runtime/system-clock.js';
import type { EmbeddedCluster } from './embedded-cluster.js';
import { DEFAULT_EMBEDDED_AUTH } from '../api/auth/auth-config.js';
import { startApiServer, type RunningApi } from '../api/http/api-server.js';

export interface UpApiOptions {
  readonly apiHost: string;
  readonly apiPort: string;
  /** False under --no-auth. */
  readonly auth: boolean;
  readonly slowMigrations: boolean;
}

/**
 * Real-time copies for --slow-migrations: a 2 GiB guest's first pass takes ~20 s at 100 MiB/s, and the
 * 30 MiB/s dirty rate adds shrinking passes (progress after each) until it converges at ~29 s.
 */
export const SLOW_MIGRATION_POLICY: Partial<FakeMigrationPolicy> = { bandwidthMibs: 100, dirtyRateMibs: 30 };

export function clusterOptionsFor(o: UpApiOptions): { driverClock?: Clock; fakePolicy?: Partial<FakeMigrationPolicy> } {
  return o.slowMigrations ? { driverClock: systemClock, fakePolicy: SLOW_MIGRATION_POLICY } : {};
}

export async function startEmbeddedApi(cluster: EmbeddedCluster, o: UpApiOptions, log: LogFn): Promise<RunningApi> {
  const port = Number(o.apiPort);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`--api-port must be a port number, not ${o.apiPort}`);
  if (!o.auth) {
    const lines = ['WARNING: --no-auth: the API accepts every request as admin, without a token.',
      'For the embedded demo only. Never expose this port.'];
    const width = Math.max(...lines.map((l) => l.length)) + 6;
    console.error('*'.repeat(width));
    for (const l of lines) console.error(`*  ${l.padEnd(width - 6)}  *`);
    console.error('*'.repeat(width));
  }
  const api = await startApiServer({ requests: cluster.requests, auth: o.auth ? DEFAULT_EMBEDDED_AUTH : null,
    serviceDownTimeMs: cluster.config.serviceDownTimeMs, publicUrl: null, log }, { host: o.apiHost, port });
  console.log(`baton: API listening on ${api.url}/v2.1 (identity ${api.url}/identity/v3${o.auth ? ', users admin/admin and demo/demo' : ', AUTH DISABLED'})`);
  return api;
}
