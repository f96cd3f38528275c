/**
 * /v2.1/baton/hosts/{host}/drain: start a server-side drain (POST), follow it (GET), cancel it (DELETE).
 * The drain lives in the store and any conductor runs it; these routes only write its row.
 */
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { DrainRow } from '../../store/store.js';
import { PolicyRule } from '../auth/policy-rules.js';
import { requestDrain, requestDrainCancel } from '../host-drain-request.js';
import { authorize, param, type ApiContext } from './api-context.js';
import { notFound } from './api-errors.js';
import { checkBody } from './body-validator.js';
import { drainReply, type DrainMigrationFacts, type DrainReply } from './drain-view.js';

/** The body is optional; when present: {"drain": {"reason": "..."}}. */
const DrainBody = Type.Object({
  drain: Type.Object({ reason: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })) }, { additionalProperties: false }),
}, { additionalProperties: false });

const DEFAULT_REASON = 'drained by baton host drain';

export async function drainsPlugin(app: FastifyInstance, opts: { ctx: ApiContext }): Promise<void> {
  const { ctx } = opts;
  const d = ctx.deps.requests;
  const tags = ['baton'];

  async function reply(row: DrainRow): Promise<DrainReply> {
    const migrations = new Map<number, DrainMigrationFacts>();
    for (const it of row.state.items) {
      if (it.migrationId === null) continue;
      const m = await d.store.repo.getMigration(it.migrationId);
      if (m) migrations.set(m.id, { status: m.status, admission: m.admission });
    }
    return drainReply(row, migrations);
  }
  async function knownHost(host: string): Promise<string> {
    if (host.length > 255 || !(await d.store.repo.getService(host))) throw notFound(`Compute host ${host.slice(0, 64)} could not be found.`);
    return host;
  }

  app.post('/baton/hosts/:host/drain', { schema: { tags, summary: 'Drain a host: disable it and live-migrate every instance off it' } },
    async (req, res) => {
      const who = authorize(ctx, req, PolicyRule.DRAIN_CREATE);
      const body = req.body === undefined || req.body === null ? undefined : checkBody<Static<typeof DrainBody>>(DrainBody, req.body);
      const host = await knownHost(param(req, 'host'));
      const { row } = await requestDrain(d, { host, reason: body?.drain.reason ?? DEFAULT_REASON, projectId: who.projectId, userId: who.userId });
      return res.code(202).send(await reply(row));
    });

  app.get('/baton/hosts/:host/drain', { schema: { tags, summary: "A host's drain: its status and every instance's" } }, async (req) => {
    authorize(ctx, req, PolicyRule.DRAIN_SHOW);
    const host = param(req, 'host');
    const row = host.length <= 255 ? await d.store.repo.getDrain(host) : undefined;
    if (!row) throw notFound(`No drain of host ${host.slice(0, 64)} could be found.`);
    return reply(row);
  });

  app.delete('/baton/hosts/:host/drain', { schema: { tags, summary: "Cancel a host's drain (queued migrations are aborted)" } },
    async (req, res) => {
      authorize(ctx, req, PolicyRule.DRAIN_DELETE);
      const row = await requestDrainCancel(d, param(req, 'host').slice(0, 255));
      return res.code(202).send(await reply(row));
    });
}
