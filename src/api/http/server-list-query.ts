/** The query of GET /servers and /servers/detail: Nova's filters, admin-only ones, and limit/marker paging. */
import type { FastifyRequest } from 'fastify';
import type { Instance } from '../../core/model.js';
import { isAdmin } from '../auth/auth-config.js';
import { PolicyRule } from '../auth/policy-rules.js';
import { authorize, principalOf, queryParam, type ApiContext } from './api-context.js';
import { badRequest } from './api-errors.js';
import { serverStatus } from './server-view.js';
import { parseIsoTime } from './time-format.js';

const TRUE = ['1', 't', 'true', 'on', 'y', 'yes'];
const FALSE = ['0', 'f', 'false', 'off', 'n', 'no'];

export function parseBool(name: string, value: string): boolean {
  const v = value.trim().toLowerCase();
  if (v === '' || TRUE.includes(v)) return true;
  if (FALSE.includes(v)) return false;
  throw badRequest(`Invalid input for query parameters ${name}. Value: ${value.slice(0, 64)}. Expected a boolean.`);
}

export function parseLimit(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,9}$/.test(value)) throw badRequest(`Invalid input for query parameters limit. Value: ${value.slice(0, 64)}. Expected a non-negative integer.`);
  return Number(value);
}

function nameMatcher(pattern: string): (name: string) => boolean {
  const p = pattern.slice(0, 255);
  try {
    const re = new RegExp(p);
    return (name) => re.test(name);
  } catch {
    return (name) => name.includes(p);
  }
}

/** The servers this request may list, filtered and paged, newest first. */
export async function listServers(ctx: ApiContext, req: FastifyRequest, detail: boolean): Promise<{ servers: Instance[]; admin: boolean }> {
  const who = principalOf(req);
  authorize(ctx, req, detail ? PolicyRule.SERVERS_DETAIL : PolicyRule.SERVERS_INDEX);
  const allTenantsRaw = queryParam(req, 'all_tenants') ?? queryParam(req, 'all-tenants');
  const allTenants = allTenantsRaw !== undefined && parseBool('all_tenants', allTenantsRaw);
  if (allTenants) authorize(ctx, req, PolicyRule.SERVERS_ALL_TENANTS);
  const admin = isAdmin(who);
  const project = allTenants ? (queryParam(req, 'project_id') ?? queryParam(req, 'tenant_id')) : who.projectId;
  const host = admin ? queryParam(req, 'host') : undefined;
  let list = await ctx.deps.requests.store.repo.listInstances({ ...(project !== undefined ? { projectId: project } : {}), ...(host !== undefined ? { host } : {}) });
  const name = queryParam(req, 'name');
  if (name !== undefined) { const m = nameMatcher(name); list = list.filter((i) => m(i.name)); }
  const status = queryParam(req, 'status');
  if (status !== undefined) list = list.filter((i) => serverStatus(i) === status.toUpperCase());
  const since = queryParam(req, 'changes-since');
  if (since !== undefined) { const t = parseIsoTime('changes-since', since); list = list.filter((i) => i.updatedAt >= t); }
  const flavor = queryParam(req, 'flavor');
  if (flavor !== undefined) list = list.filter((i) => i.flavorId === flavor);
  list.sort((a, b) => b.createdAt - a.createdAt || (a.uuid < b.uuid ? 1 : -1));
  return { servers: page(list, queryParam(req, 'marker'), parseLimit(queryParam(req, 'limit'))), admin };
}

function page(list: Instance[], marker: string | undefined, limit: number | undefined): Instance[] {
  let start = 0;
  if (marker !== undefined) {
    const at = list.findIndex((i) => i.uuid === marker);
    if (at < 0) throw badRequest(`marker [${marker.slice(0, 64)}] not found`);
    start = at + 1;
  }
  return list.slice(start, limit === undefined ? undefined : start + limit);
}
