/**
 * servers/{id}/os-instance-actions: the server's creation and each live migration as Nova instance actions.
 * A live migration's events are its journal steps (compute_<step>), so `openstack server event show`
 * tells which steps passed.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';
import type { Instance } from '../../core/model.js';
import { PolicyRule } from '../auth/policy-rules.js';
import type { MigrationRow, StepRow } from '../../store/store.js';
import { isAdmin } from '../auth/auth-config.js';
import { param, principalOf, type ApiContext } from './api-context.js';
import { notFound } from './api-errors.js';
import { atLeast, type Microversion } from './microversion.js';
import { loadServer } from './server-lookup.js';
import { novaTime } from './time-format.js';

interface Action {
  readonly row: Record<string, unknown>;
  readonly migration: MigrationRow | null;
}

function actionsOf(v: Microversion, inst: Instance, migrations: readonly MigrationRow[]): Action[] {
  const base = (action: string, requestId: string, start: number, updated: number, failed: boolean, user: string, project: string) => ({
    action, instance_uuid: inst.uuid, request_id: requestId, user_id: user, project_id: project, start_time: novaTime(start),
    message: failed ? 'Error' : null, ...(atLeast(v, '2.58') ? { updated_at: novaTime(updated) } : {}),
  });
  const live = migrations.map((m) => ({ migration: m, row: base('live-migration', `req-${m.uuid}`, m.createdAt, m.updatedAt,
    m.status === 'failed' || m.status === 'error', m.userId, m.projectId) }));
  const create = { migration: null, row: base('create', `req-${inst.uuid}`, inst.createdAt, inst.createdAt, false, inst.userId, inst.projectId) };
  return [...live, create];
}

function eventView(v: Microversion, s: StepRow, details: boolean, admin: boolean): Record<string, unknown> {
  const finish = s.doneAt ?? s.failedAt;
  const result = s.status === 'done' ? 'Success' : s.status === 'failed' ? 'Error' : null;
  return {
    event: `compute_${s.step}`, start_time: novaTime(s.sentAt), finish_time: novaTime(finish), result,
    ...(details ? { traceback: s.error } : {}),
    ...(atLeast(v, '2.62') ? { hostId: createHash('sha224').update(s.host).digest('hex'), ...(admin ? { host: s.host } : {}) } : {}),
    ...(atLeast(v, '2.84') ? { details: s.error } : {}),
  };
}

export async function instanceActionsPlugin(app: FastifyInstance, opts: { ctx: ApiContext }): Promise<void> {
  const { ctx } = opts;
  const repo = ctx.deps.requests.store.repo;
  const tags = ['instance actions'];
  const load = async (req: FastifyRequest, rule: PolicyRule) => {
    const inst = await loadServer(ctx, req, param(req, 'id'), rule);
    return { inst, actions: actionsOf(req.microversion, inst, await repo.listMigrations({ instanceUuid: inst.uuid })) };
  };

  app.get('/servers/:id/os-instance-actions', { schema: { tags, summary: 'List instance actions' } }, async (req) => {
    const { actions } = await load(req, PolicyRule.INSTANCE_ACTIONS_LIST);
    return { instanceActions: actions.map((a) => a.row) };
  });

  app.get('/servers/:id/os-instance-actions/:rid', { schema: { tags, summary: 'Show an instance action with its events' } }, async (req) => {
    const { inst, actions } = await load(req, PolicyRule.INSTANCE_ACTIONS_SHOW);
    const rid = param(req, 'rid');
    const a = actions.find((x) => x.row['request_id'] === rid);
    if (!a) throw notFound(`Action for request_id ${rid.slice(0, 64)} on instance ${inst.uuid} not found`);
    const who = principalOf(req);
    const details = ctx.policy.allows(PolicyRule.INSTANCE_ACTIONS_EVENTS_DETAILS, who, inst.projectId);
    const steps = a.migration ? await repo.listSteps(a.migration.id) : [];
    // Before 2.51 only those allowed the event details see events at all, as in Nova.
    const showEvents = atLeast(req.microversion, '2.51') || details;
    return { instanceAction: { ...a.row, ...(showEvents ? { events: steps.map((s) => eventView(req.microversion, s, details, isAdmin(who))) } : {}) } };
  });
}
