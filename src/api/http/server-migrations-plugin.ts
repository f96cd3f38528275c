/**
 * servers/{id}/migrations: list and show in-progress migrations (2.23), abort with DELETE (2.24; before
 * 2.65 only while running), and force_complete (2.22). The conductor carries out abort and force-complete.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { PolicyRule, type PolicyRule as Rule } from '../auth/policy-rules.js';
import { requestMigrationAction } from '../live-migration-request.js';
import type { Instance } from '../../core/model.js';
import type { MigrationRow } from '../../store/store.js';
import { param, type ApiContext } from './api-context.js';
import { badRequest, notFound } from './api-errors.js';
import { atLeast } from './microversion.js';
import { isInProgress, serverMigrationView } from './migration-view.js';
import { loadServer } from './server-lookup.js';

const ForceCompleteBody = Type.Object({ force_complete: Type.Null() }, { additionalProperties: false });

export async function serverMigrationsPlugin(app: FastifyInstance, opts: { ctx: ApiContext }): Promise<void> {
  const { ctx } = opts;
  const repo = ctx.deps.requests.store.repo;
  const tags = ['server migrations'];

  /** The route exists from `min`; below it Nova answers 404, as for any unknown resource. */
  async function load(req: FastifyRequest, min: string, rule: Rule): Promise<Instance> {
    if (!atLeast(req.microversion, min)) throw notFound();
    return loadServer(ctx, req, param(req, 'id'), rule);
  }
  async function migrationOf(inst: Instance, mid: string): Promise<MigrationRow> {
    const m = /^\d{1,15}$/.test(mid) ? await repo.getMigration(Number(mid)) : undefined;
    if (!m || m.instanceUuid !== inst.uuid) throw notFound(`Migration ${mid.slice(0, 64)} for instance ${inst.uuid} could not be found.`);
    return m;
  }
  const hostMap = async () => new Map((await repo.listServices()).map((h) => [h.host, h]));

  app.get('/servers/:id/migrations', { schema: { tags, summary: 'List in-progress migrations of a server (2.23)' } }, async (req) => {
    const inst = await load(req, '2.23', PolicyRule.SERVER_MIGRATIONS_INDEX);
    const list = (await repo.listMigrations({ instanceUuid: inst.uuid })).filter(isInProgress);
    const hosts = await hostMap();
    return { migrations: list.map((m) => serverMigrationView(req.microversion, m, hosts)) };
  });

  app.get('/servers/:id/migrations/:mid', { schema: { tags, summary: 'Show an in-progress migration (2.23)' } }, async (req) => {
    const inst = await load(req, '2.23', PolicyRule.SERVER_MIGRATIONS_SHOW);
    const m = await migrationOf(inst, param(req, 'mid'));
    if (!isInProgress(m)) throw notFound(`In-progress live migration ${m.id} is not found for server ${inst.uuid}.`);
    return { migration: serverMigrationView(req.microversion, m, await hostMap()) };
  });

  app.delete('/servers/:id/migrations/:mid', { schema: { tags, summary: 'Abort a live migration (2.24)' } }, async (req, reply) => {
    const inst = await load(req, '2.24', PolicyRule.SERVER_MIGRATIONS_DELETE);
    const m = await migrationOf(inst, param(req, 'mid'));
    if (!atLeast(req.microversion, '2.65') && m.status !== 'running') {
      throw badRequest(`Migration ${m.id} state of instance ${inst.uuid} is ${m.status}. Cannot abort the migration in its current state (queued and preparing need 2.65).`);
    }
    await requestMigrationAction(ctx.deps.requests, inst.uuid, m.id, 'abort');
    return reply.code(202).send();
  });

  app.post('/servers/:id/migrations/:mid/action', { schema: { tags, summary: 'Force-complete a live migration (2.22)', body: ForceCompleteBody } },
    async (req, reply) => {
      const inst = await load(req, '2.22', PolicyRule.SERVER_MIGRATIONS_FORCE_COMPLETE);
      const m = await migrationOf(inst, param(req, 'mid'));
      await requestMigrationAction(ctx.deps.requests, inst.uuid, m.id, 'force_complete');
      return reply.code(202).send();
    });
}
