/**
 * GET /v2.1/baton/audit: the reconciler's latest pass (its anomalies) and the recent repairs.
 * POST /v2.1/baton/audit: asks a conductor to run a pass now, then returns it the same way.
 */
import type { FastifyInstance } from 'fastify';
import { CONDUCTOR_RPC_VERSION, ConductorMethod } from '../../rpc/conductor-api.js';
import { CONDUCTOR_TOPIC } from '../../rpc/transport.js';
import { PolicyRule } from '../auth/policy-rules.js';
import { authorize, type ApiContext } from './api-context.js';
import { auditReply, type AuditReply } from './audit-view.js';

/** Repairs shown with a pass. */
const RECENT_REPAIRS = 50;
/** A pass lists every host within a status-query deadline, twice at most, then repairs: allow more than a plain call. */
const RUN_TIMEOUT_MS = 180_000;

export async function auditPlugin(app: FastifyInstance, opts: { ctx: ApiContext }): Promise<void> {
  const { ctx } = opts;
  const { store, rpc } = ctx.deps.requests;
  const tags = ['baton'];
  const latest = async (): Promise<AuditReply> => auditReply(await store.repo.getAuditPass(), await store.repo.listAuditRepairs(RECENT_REPAIRS));

  app.get('/baton/audit', { schema: { tags, summary: "The reconciler's latest pass: anomalies, unreachable hosts, recent repairs" } },
    async (req) => {
      authorize(ctx, req, PolicyRule.AUDIT_SHOW);
      return latest();
    });

  app.post('/baton/audit', { schema: { tags, summary: 'Run a reconcile/audit pass now and return it' } }, async (req) => {
    authorize(ctx, req, PolicyRule.AUDIT_RUN);
    // The conductor stores the pass; the store, not the reply, is what this returns.
    await rpc.call(CONDUCTOR_TOPIC, ConductorMethod.RUN_AUDIT, {}, { version: CONDUCTOR_RPC_VERSION, timeoutMs: RUN_TIMEOUT_MS });
    return latest();
  });
}
