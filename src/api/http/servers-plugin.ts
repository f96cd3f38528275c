/** servers: list, detail, show and delete (create is in server-create.ts). */
import type { FastifyInstance } from 'fastify';
import { PolicyRule } from '../auth/policy-rules.js';
import { requestDeleteServer } from '../server-request.js';
import { baseUrl, param, principalOf, type ApiContext } from './api-context.js';
import { registerServerCreate } from './server-create.js';
import { listServers } from './server-list-query.js';
import { loadServer, serverViewContext } from './server-lookup.js';
import { detailView, summaryView } from './server-view.js';

export async function serversPlugin(app: FastifyInstance, opts: { ctx: ApiContext }): Promise<void> {
  const { ctx } = opts;
  const tags = ['servers'];

  app.get('/servers', { schema: { tags, summary: 'List servers' } }, async (req) => {
    const { servers } = await listServers(ctx, req, false);
    const base = baseUrl(ctx, req);
    return { servers: servers.map((i) => summaryView(base, i)) };
  });

  app.get('/servers/detail', { schema: { tags, summary: 'List servers with details' } }, async (req) => {
    const { servers } = await listServers(ctx, req, true);
    const vc = await serverViewContext(ctx, req, ctx.policy.allows(PolicyRule.SERVERS_SHOW_HOST, principalOf(req)));
    return { servers: servers.map((i) => detailView(vc, i)) };
  });

  app.get('/servers/:id', { schema: { tags, summary: 'Show a server' } }, async (req) => {
    const inst = await loadServer(ctx, req, param(req, 'id'), PolicyRule.SERVERS_SHOW);
    const admin = ctx.policy.allows(PolicyRule.SERVERS_SHOW_HOST, principalOf(req), inst.projectId);
    return { server: detailView(await serverViewContext(ctx, req, admin), inst) };
  });

  app.delete('/servers/:id', { schema: { tags, summary: 'Delete a server' } }, async (req, reply) => {
    const inst = await loadServer(ctx, req, param(req, 'id'), PolicyRule.SERVERS_DELETE);
    await requestDeleteServer(ctx.deps.requests, inst.uuid);
    return reply.code(204).send();
  });

  registerServerCreate(app, ctx);
}
