/** flavors: list, detail and show, in Nova's views (description from 2.55, extra_specs from 2.61, integer swap from 2.75). */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Flavor } from '../../core/model.js';
import { PolicyRule } from '../auth/policy-rules.js';
import { authorize, baseUrl, param, queryParam, type ApiContext } from './api-context.js';
import { badRequest, notFound } from './api-errors.js';
import { atLeast, type Microversion } from './microversion.js';
import { parseLimit } from './server-list-query.js';

function links(base: string, id: string) {
  return [{ rel: 'self', href: `${base}/v2.1/flavors/${id}` }, { rel: 'bookmark', href: `${base}/flavors/${id}` }];
}

function summary(v: Microversion, base: string, f: Flavor): Record<string, unknown> {
  return { id: f.id, name: f.name, links: links(base, f.id), ...(atLeast(v, '2.55') ? { description: null } : {}) };
}

function detail(v: Microversion, base: string, f: Flavor): Record<string, unknown> {
  return {
    ...summary(v, base, f), ram: f.memoryMb, disk: f.diskGb, vcpus: f.vcpus, 'OS-FLV-EXT-DATA:ephemeral': 0, 'OS-FLV-DISABLED:disabled': false,
    swap: atLeast(v, '2.75') ? 0 : '', rxtx_factor: 1.0, 'os-flavor-access:is_public': true,
    ...(atLeast(v, '2.61') ? { extra_specs: {} } : {}),
  };
}

function intParam(req: FastifyRequest, name: string): number | undefined {
  const s = queryParam(req, name);
  if (s === undefined) return undefined;
  if (!/^\d{1,9}$/.test(s)) throw badRequest(`Invalid ${name} filter [${s.slice(0, 64)}]`);
  return Number(s);
}

async function listFlavors(ctx: ApiContext, req: FastifyRequest): Promise<Flavor[]> {
  authorize(ctx, req, PolicyRule.FLAVORS_INDEX);
  const minRam = intParam(req, 'minRam');
  const minDisk = intParam(req, 'minDisk');
  const all = (await ctx.deps.requests.store.repo.listFlavors())
    .filter((f) => (minRam === undefined || f.memoryMb >= minRam) && (minDisk === undefined || f.diskGb >= minDisk))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const marker = queryParam(req, 'marker');
  let start = 0;
  if (marker !== undefined) {
    start = all.findIndex((f) => f.id === marker) + 1;
    if (start === 0) throw badRequest(`marker [${marker.slice(0, 64)}] not found`);
  }
  const limit = parseLimit(queryParam(req, 'limit'));
  return all.slice(start, limit === undefined ? undefined : start + limit);
}

export async function flavorsPlugin(app: FastifyInstance, opts: { ctx: ApiContext }): Promise<void> {
  const { ctx } = opts;
  const tags = ['flavors'];
  app.get('/flavors', { schema: { tags, summary: 'List flavors' } }, async (req) => {
    const base = baseUrl(ctx, req);
    return { flavors: (await listFlavors(ctx, req)).map((f) => summary(req.microversion, base, f)) };
  });
  app.get('/flavors/detail', { schema: { tags, summary: 'List flavors with details' } }, async (req) => {
    const base = baseUrl(ctx, req);
    return { flavors: (await listFlavors(ctx, req)).map((f) => detail(req.microversion, base, f)) };
  });
  const load = async (req: FastifyRequest) => {
    authorize(ctx, req, PolicyRule.FLAVORS_INDEX);
    const id = param(req, 'id');
    const f = id.length <= 255 ? await ctx.deps.requests.store.repo.getFlavor(id) : undefined;
    if (!f) throw notFound(`Flavor ${id.slice(0, 64)} could not be found.`);
    return f;
  };
  app.get('/flavors/:id', { schema: { tags, summary: 'Show a flavor' } }, async (req) => ({ flavor: detail(req.microversion, baseUrl(ctx, req), await load(req)) }));
  app.get('/flavors/:id/os-extra_specs', { schema: { tags, summary: 'Flavor extra specs (always empty)' } }, async (req) => {
    await load(req);
    return { extra_specs: {} };
  });
}
