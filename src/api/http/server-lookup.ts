/** Loading a server the way Nova does: not found (404) unless it exists and the caller may see it, then the policy (403). */
import type { FastifyRequest } from 'fastify';
import type { Instance } from '../../core/model.js';
import { isAdmin } from '../auth/auth-config.js';
import type { PolicyRule } from '../auth/policy-rules.js';
import { authorize, baseUrl, principalOf, type ApiContext } from './api-context.js';
import { notFound } from './api-errors.js';
import type { ServerViewContext } from './server-view.js';

export async function loadServer(ctx: ApiContext, req: FastifyRequest, id: string, rule: PolicyRule): Promise<Instance> {
  const who = principalOf(req);
  const inst = id.length <= 255 ? await ctx.deps.requests.store.repo.getInstance(id) : undefined;
  // Another project's server does not exist for a non-admin, as in Nova's project-scoped lookups.
  if (!inst || (!isAdmin(who) && inst.projectId !== who.projectId)) throw notFound(`Instance ${id.slice(0, 255)} could not be found.`);
  authorize(ctx, req, rule, inst.projectId);
  return inst;
}

export async function serverViewContext(ctx: ApiContext, req: FastifyRequest, admin: boolean): Promise<ServerViewContext> {
  const repo = ctx.deps.requests.store.repo;
  const [flavors, services] = await Promise.all([repo.listFlavors(), repo.listServices()]);
  return {
    base: baseUrl(ctx, req), v: req.microversion, admin, images: ctx.images, now: ctx.deps.requests.clock.now(),
    serviceDownTimeMs: ctx.deps.serviceDownTimeMs,
    flavors: new Map(flavors.map((f) => [f.id, f])), hosts: new Map(services.map((s) => [s.host, s])),
  };
}
