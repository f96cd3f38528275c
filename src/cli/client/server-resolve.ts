/** SERVER arguments are a name or a UUID, as in the OpenStack clients. Names resolve through GET /servers?name=. */
import { ApiError } from './client-errors.js';
import type { ComputeClient } from './compute-client.js';
import type { NovaServer } from './nova-types.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export async function resolveServer(client: ComputeClient, ref: string): Promise<NovaServer> {
  if (UUID.test(ref)) {
    try {
      return await client.getServer(ref);
    } catch (e) {
      // A server may be named like a UUID: only a 404 falls through to the name lookup.
      if (!(e instanceof ApiError && e.status === 404)) throw e;
    }
  }
  // Nova's name filter is a regular expression: anchor it, then keep exact matches only.
  const byName = async (allProjects: boolean) => (await client.listServers({ name: `^${escapeRegex(ref)}$`, all_tenants: allProjects ? 1 : undefined }))
    .filter((s) => s.name === ref);
  let found = await byName(false);
  if (found.length === 0) {
    // An admin also finds servers of other projects, as Nova lists them only with all_tenants.
    try { found = await byName(true); } catch (e) { if (!(e instanceof ApiError && e.status === 403)) throw e; }
  }
  if (found.length === 1) return found[0]!;
  if (found.length === 0) throw new ApiError(404, 'itemNotFound', `no server with a name or ID of '${ref}' exists`);
  throw new ApiError(409, 'conflict', `more than one server is named '${ref}' (${found.map((s) => s.id).join(', ')}); use an ID`);
}
