/** Composition root of one `baton api` process: the HTTP API over the shared store, casting to the conductors. */
import { hostname } from 'node:os';
import type { AuthConfig } from '../api/auth/auth-config.js';
import { validatePolicy } from '../api/auth/policy-rules.js';
import { startApiServer } from '../api/http/api-server.js';
import type { BatonConfig } from '../config/config-schema.js';
import { ConfigError } from '../config/config-loader.js';
import { conductorConfig } from '../conductor/conductor-config.js';
import { RpcClient } from '../rpc/rpc-client.js';
import type { LogFn } from '../runtime/logger.js';
import { randomIds, systemClock } from '../runtime/system-clock.js';
import { closeAll, openStore, openTransport } from './process-deps.js';

export interface ApiProcess {
  readonly url: string;
  stop(): Promise<void>;
}

/** Without `auth` in the config the API refuses to start unless authentication is explicitly turned off. */
export async function startApiProcess(cfg: BatonConfig, log: LogFn, opts: { noAuth?: boolean } = {}): Promise<ApiProcess> {
  const auth: AuthConfig | null = opts.noAuth ? null : cfg.api.auth ?? null;
  if (auth === null && !opts.noAuth) throw new ConfigError('config key "api.auth" is required by baton api (users and roles), or pass --no-auth');
  try {
    validatePolicy(cfg.api.policy);
  } catch (e) {
    throw new ConfigError(`invalid config key "api.policy": ${e instanceof Error ? e.message : String(e)}`);
  }
  const { startGraceMs, serviceDownTimeMs } = conductorConfig({ ...(cfg.conductor.startGraceMs ? { startGraceMs: cfg.conductor.startGraceMs } : {}),
    ...(cfg.conductor.serviceDownTimeMs ? { serviceDownTimeMs: cfg.conductor.serviceDownTimeMs } : {}) });
  const store = await openStore(cfg.database, 'baton-api');
  const opened: [string, () => Promise<unknown>][] = [['store', () => store.close()]];
  try {
    const transport = await openTransport(cfg.transport, log);
    opened.push(['transport', () => transport.close()]);
    const requests = { store, rpc: new RpcClient(transport, { role: 'api', host: hostname() }), clock: systemClock, ids: randomIds, startGraceMs };
    const api = await startApiServer({ requests, auth, policy: cfg.api.policy, serviceDownTimeMs, publicUrl: null, log },
      { host: cfg.api.host, port: cfg.api.port });
    opened.push(['HTTP server', () => api.close()]);
    return { url: api.url, stop: () => closeAll(log, opened) };
  } catch (e) {
    await closeAll(log, opened);
    throw e;
  }
}
