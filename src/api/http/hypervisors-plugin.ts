/**
 * os-hypervisors: list, detail, show; from 2.53 UUID ids, hypervisor_hostname_pattern and with_servers;
 * before 2.53 /{pattern}/search and /{pattern}/servers; /{id}/uptime before 2.88. Also the (empty)
 * os-aggregates list that `openstack hypervisor show` reads.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ComputeHost } from '../../core/model.js';
import { PolicyRule, type PolicyRule as Rule } from '../auth/policy-rules.js';
import { authorize, param, queryParam, type ApiContext } from './api-context.js';
import { badRequest, notFound } from './api-errors.js';
import { findByHypervisorId, integerIds, sortedHosts } from './host-ids.js';
import { detailView, summaryView, uptimeText, withServers, type HypervisorViewContext } from './hypervisor-view.js';
import { atLeast } from './microversion.js';
import { parseBool, parseLimit } from './server-list-query.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function hypervisorsPlugin(app: FastifyInstance, opts: { ctx: ApiContext }): Promise<void> {
  const { ctx } = opts;
  const repo = ctx.deps.requests.store.repo;
  const tags = ['hypervisors'];

  async function load(req: FastifyRequest, rule: Rule): Promise<{ hosts: ComputeHost[]; vc: HypervisorViewContext }> {
    authorize(ctx, req, rule);
    const [hosts, usage] = await Promise.all([repo.listServices(), repo.hostUsage()]);
    return { hosts: sortedHosts(hosts), vc: { v: req.microversion, ints: integerIds(hosts), usage, now: ctx.deps.requests.clock.now(),
      serviceDownTimeMs: ctx.deps.serviceDownTimeMs } };
  }
  const serversOn = (host: string) => repo.listInstances({ host });
  const matching = (hosts: ComputeHost[], pattern: string) => hosts.filter((h) => h.host.includes(pattern.slice(0, 255)));

  async function list(req: FastifyRequest, detail: boolean) {
    const { hosts, vc } = await load(req, detail ? PolicyRule.HYPERVISORS_DETAIL : PolicyRule.HYPERVISORS_LIST);
    const v = req.microversion;
    let shown = hosts;
    const pattern = atLeast(v, '2.53') ? queryParam(req, 'hypervisor_hostname_pattern') : undefined;
    if (pattern !== undefined) {
      shown = matching(hosts, pattern);
      if (shown.length === 0) throw notFound(`No hypervisor matching '${pattern.slice(0, 64)}' could be found.`);
    }
    if (atLeast(v, '2.33')) shown = page(req, vc, shown);
    const servers = atLeast(v, '2.53') && parseBool('with_servers', queryParam(req, 'with_servers') ?? 'false');
    const views = await Promise.all(shown.map(async (h) => {
      const view = detail ? detailView(vc, h) : summaryView(vc, h);
      return servers ? withServers(view, await serversOn(h.host)) : view;
    }));
    return { hypervisors: views };
  }
  function page(req: FastifyRequest, vc: HypervisorViewContext, hosts: ComputeHost[]): ComputeHost[] {
    const marker = queryParam(req, 'marker');
    let start = 0;
    if (marker !== undefined) {
      start = hosts.findIndex((h) => String(summaryView(vc, h)['id']) === marker) + 1;
      if (start === 0) throw badRequest(`marker [${marker.slice(0, 64)}] not found`);
    }
    const limit = parseLimit(queryParam(req, 'limit'));
    return hosts.slice(start, limit === undefined ? undefined : start + limit);
  }
  async function one(req: FastifyRequest, rule: Rule): Promise<{ h: ComputeHost; vc: HypervisorViewContext }> {
    const id = param(req, 'id');
    if (atLeast(req.microversion, '2.53') && !UUID.test(id)) throw badRequest(`Invalid uuid ${id.slice(0, 64)}`);
    const { hosts, vc } = await load(req, rule);
    const h = findByHypervisorId(req.microversion, hosts, id);
    if (!h) throw notFound(`Hypervisor with ID ${id.slice(0, 64)} could not be found.`);
    return { h, vc };
  }

  app.get('/os-hypervisors', { schema: { tags, summary: 'List hypervisors' } }, (req) => list(req, false));
  app.get('/os-hypervisors/detail', { schema: { tags, summary: 'List hypervisors with details' } }, (req) => list(req, true));
  app.get('/os-hypervisors/:id', { schema: { tags, summary: 'Show a hypervisor' } }, async (req) => {
    const { h, vc } = await one(req, PolicyRule.HYPERVISORS_SHOW);
    const servers = atLeast(req.microversion, '2.53') && parseBool('with_servers', queryParam(req, 'with_servers') ?? 'false');
    return { hypervisor: servers ? withServers(detailView(vc, h), await serversOn(h.host)) : detailView(vc, h) };
  });
  app.get('/os-hypervisors/:id/uptime', { schema: { tags, summary: 'Hypervisor uptime (before 2.88)' } }, async (req) => {
    if (atLeast(req.microversion, '2.88')) throw notFound();
    const { h, vc } = await one(req, PolicyRule.HYPERVISORS_UPTIME);
    return { hypervisor: { ...summaryView(vc, h), uptime: uptimeText(h, vc.now) } };
  });
  for (const [suffix, rule] of [['search', PolicyRule.HYPERVISORS_SEARCH], ['servers', PolicyRule.HYPERVISORS_SERVERS]] as const) {
    app.get(`/os-hypervisors/:id/${suffix}`, { schema: { tags, summary: `Hypervisors by name pattern, ${suffix} (before 2.53)` } }, async (req) => {
      if (atLeast(req.microversion, '2.53')) throw notFound();
      const { hosts, vc } = await load(req, rule);
      const found = matching(hosts, param(req, 'id'));
      if (found.length === 0) throw notFound(`No hypervisor matching '${param(req, 'id').slice(0, 64)}' could be found.`);
      return { hypervisors: await Promise.all(found.map(async (h) => (suffix === 'servers' ? withServers(summaryView(vc, h), await serversOn(h.host)) : summaryView(vc, h)))) };
    });
  }
  app.get('/os-aggregates', { schema: { tags, summary: 'List host aggregates (always empty)' } }, async (req) => {
    authorize(ctx, req, PolicyRule.AGGREGATES_INDEX);
    return { aggregates: [] };
  });
}
