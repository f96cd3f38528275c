/**
 * POST /servers/{id}/action. Baton serves os-migrateLive: the body is validated against the schema of
 * the request's microversion, the migration is accepted (202) and the conductor does the rest.
 */
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { PolicyRule } from '../auth/policy-rules.js';
import { requestLiveMigration } from '../live-migration-request.js';
import { param, type ApiContext } from './api-context.js';
import { badRequest } from './api-errors.js';
import { checkBody } from './body-validator.js';
import { blockMigrationOf, migrateLiveSchema, MIGRATE_LIVE_SCHEMAS, type MigrateLiveBody } from './migrate-live-schemas.js';
import { loadServer } from './server-lookup.js';

/** One action per body: {"<action>": {...}}. The per-action schema is checked by the handler. */
const ActionBody = Type.Object({ 'os-migrateLive': Type.Optional(Type.Union(Object.values(MIGRATE_LIVE_SCHEMAS))) },
  { additionalProperties: true, minProperties: 1, maxProperties: 1 });

export async function serverActionsPlugin(app: FastifyInstance, opts: { ctx: ApiContext }): Promise<void> {
  const { ctx } = opts;
  app.post('/servers/:id/action', { schema: { tags: ['servers'], summary: 'Server action (os-migrateLive)', body: ActionBody } }, async (req, reply) => {
    const body = req.body as Record<string, unknown>;
    const action = Object.keys(body)[0] ?? '';
    if (action !== 'os-migrateLive') throw badRequest(`There is no such action: ${action.slice(0, 64)}`);
    const args = checkBody<MigrateLiveBody>(migrateLiveSchema(req.microversion), body[action]);
    const inst = await loadServer(ctx, req, param(req, 'id'), PolicyRule.MIGRATE_LIVE);
    await requestLiveMigration(ctx.deps.requests, { instanceUuid: inst.uuid, host: args.host, blockMigration: blockMigrationOf(args),
      projectId: req.principal!.projectId, userId: req.principal!.userId });
    return reply.code(202).send();
  });
}
