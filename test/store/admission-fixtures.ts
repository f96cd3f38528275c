/** Live-migration requests as the API makes them, against any store, with casts parked on an in-process bus. */
import { requestLiveMigration, type RequestDeps } from '../../src/api/live-migration-request.js';
import { BatonError } from '../../src/core/errors.js';
import { RpcClient } from '../../src/rpc/rpc-client.js';
import { InProcessBus } from '../../src/rpc/transports/in-process-transport.js';
import { randomIds } from '../../src/runtime/system-clock.js';
import type { Store } from '../../src/store/store.js';
import { T0 } from './store-fixtures.js';

export function requestDeps(store: Store): RequestDeps {
  return { store, rpc: new RpcClient(new InProcessBus().transport(), { role: 'api', host: 'test-api' }), clock: { now: () => T0, sleep: async () => undefined },
    ids: randomIds, startGraceMs: 5000 };
}

/** What one request came to: accepted (the migration id) or refused (the error code and HTTP status the API would send). */
export type Outcome = { readonly accepted: number } | { readonly refused: string; readonly status: number };

export async function request(store: Store, instanceUuid: string, host: string | null): Promise<Outcome> {
  try {
    const m = await requestLiveMigration(requestDeps(store), { instanceUuid, host, blockMigration: 'auto', projectId: 'p1', userId: 'u1' });
    return { accepted: m.id };
  } catch (e) {
    if (e instanceof BatonError) return { refused: e.code, status: e.httpStatus };
    return { refused: `not a BatonError: ${e instanceof Error ? e.message : String(e)}`, status: 500 };
  }
}
