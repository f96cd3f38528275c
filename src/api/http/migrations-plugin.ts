/**
 * GET /os-migrations: Nova's filters (host, status, instance_uuid, source_compute, migration_type), and from
 * 2.59 limit/marker and changes-since, from 2.66 changes-before, from 2.80 user_id/project_id; newest first.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { PolicyRule } from '../auth/policy-rules.js';
import type { MigrationFilter, MigrationRow } from '../../store/store.js';
import { authorize, baseUrl, queryParam, type ApiContext } from './api-context.js';
import { badRequest } from './api-errors.js';
import { atLeast } from './microversion.js';
import { migrationView } from './migration-view.js';
import { parseLimit } from './server-list-query.js';
import { parseIsoTime } from './time-format.js';

async function buildFilter(ctx: ApiContext, req: FastifyRequest): Promise<{ filter: MigrationFilter; userId?: string; limit?: number }> {
  const v = req.microversion;
  const str = (name: string) => { const s = queryParam(req, name); return s !== undefined && s.length <= 255 ? s : undefined; };
  const f: { -readonly [K in keyof MigrationFilter]: MigrationFilter[K] } = {};
  for (const [key, name] of [['host', 'host'], ['instanceUuid', 'instance_uuid'], ['sourceCompute', 'source_compute'], ['migrationType', 'migration_type']] as const) {
    const s = str(name);
    if (s !== undefined) f[key] = s;
  }
  const status = str('status');
  if (status !== undefined) f.status = [status];
  let limit: number | undefined;
  if (atLeast(v, '2.59')) {
    limit = parseLimit(queryParam(req, 'limit'));
    const marker = queryParam(req, 'marker');
    if (marker !== undefined) {
      const m = marker.length <= 64 ? await ctx.deps.requests.store.repo.getMigrationByUuid(marker) : undefined;
      if (!m) throw badRequest(`Marker ${marker.slice(0, 64)} could not be found.`);
      f.beforeId = m.id;
    }
    const since = queryParam(req, 'changes-since');
    if (since !== undefined) f.changesSince = parseIsoTime('changes-since', since);
  }
  if (atLeast(v, '2.66')) {
    const before = queryParam(req, 'changes-before');
    if (before !== undefined) f.changesBefore = parseIsoTime('changes-before', before);
    if (f.changesSince !== undefined && f.changesBefore !== undefined && f.changesBefore < f.changesSince) {
      throw badRequest('The value of changes-since must be less than or equal to changes-before.');
    }
  }
  const userId = atLeast(v, '2.80') ? str('user_id') : undefined;
  if (atLeast(v, '2.80') && str('project_id') !== undefined) f.projectId = str('project_id');
  return { filter: f, ...(userId !== undefined ? { userId } : {}), ...(limit !== undefined ? { limit } : {}) };
}

export async function migrationsPlugin(app: FastifyInstance, opts: { ctx: ApiContext }): Promise<void> {
  const { ctx } = opts;
  app.get('/os-migrations', { schema: { tags: ['migrations'], summary: 'List migrations' } }, async (req) => {
    authorize(ctx, req, PolicyRule.MIGRATIONS_INDEX);
    const { filter, userId, limit } = await buildFilter(ctx, req);
    const repo = ctx.deps.requests.store.repo;
    // user_id is not a store filter: filter first, then apply the limit.
    let rows: MigrationRow[] = await repo.listMigrations(userId === undefined && limit !== undefined ? { ...filter, limit } : filter);
    if (userId !== undefined) rows = rows.filter((m) => m.userId === userId).slice(0, limit);
    const hosts = new Map((await repo.listServices()).map((h) => [h.host, h]));
    const base = baseUrl(ctx, req);
    const body: Record<string, unknown> = { migrations: rows.map((m) => migrationView(req.microversion, m, hosts, base)) };
    if (limit !== undefined && rows.length === limit && rows.length > 0) {
      body['migrations_links'] = [{ rel: 'next', href: `${base}/v2.1/os-migrations?limit=${limit}&marker=${rows[rows.length - 1]!.uuid}` }];
    }
    return body;
  });
}
