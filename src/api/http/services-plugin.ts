/**
 * os-services: list computes, and enable or disable one with a reason. Before 2.53 through
 * PUT /os-services/{enable,disable,disable-log-reason} with host and binary; from 2.53 through
 * PUT /os-services/{service uuid} with status and disabled_reason.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { ComputeHost } from '../../core/model.js';
import { PolicyRule } from '../auth/policy-rules.js';
import { authorize, param, queryParam, type ApiContext } from './api-context.js';
import { badRequest, notFound } from './api-errors.js';
import { checkBody } from './body-validator.js';
import { integerIds, isUp, nameUuid, serviceId, sortedHosts } from './host-ids.js';
import { atLeast } from './microversion.js';
import { novaTime } from './time-format.js';

const BINARY = 'nova-compute';
const Reason = Type.String({ minLength: 1, maxLength: 255 });
const LegacyBody = Type.Object({ host: Type.String({ minLength: 1, maxLength: 255 }), binary: Type.String({ minLength: 1, maxLength: 255 }),
  disabled_reason: Type.Optional(Reason) }, { additionalProperties: false });
const UpdateBody = Type.Object({ status: Type.Optional(Type.Union([Type.Literal('enabled'), Type.Literal('disabled')])),
  disabled_reason: Type.Optional(Reason), forced_down: Type.Optional(Type.Boolean()) }, { additionalProperties: false });
const AnyUpdate = Type.Union([LegacyBody, UpdateBody]);

export async function servicesPlugin(app: FastifyInstance, opts: { ctx: ApiContext }): Promise<void> {
  const { ctx } = opts;
  const repo = ctx.deps.requests.store.repo;
  const tags = ['services'];

  function view(req: FastifyRequest, h: ComputeHost, ints: ReadonlyMap<string, number>): Record<string, unknown> {
    return {
      id: serviceId(req.microversion, h, ints), binary: BINARY, host: h.host, zone: 'nova', status: h.disabled ? 'disabled' : 'enabled',
      state: isUp(h, ctx.deps.requests.clock.now(), ctx.deps.serviceDownTimeMs) ? 'up' : 'down', updated_at: novaTime(h.lastHeartbeat),
      disabled_reason: h.disabledReason, ...(atLeast(req.microversion, '2.11') ? { forced_down: false } : {}),
    };
  }

  app.get('/os-services', { schema: { tags, summary: 'List compute services' } }, async (req) => {
    authorize(ctx, req, PolicyRule.SERVICES_LIST);
    const host = queryParam(req, 'host');
    const binary = queryParam(req, 'binary');
    const all = await repo.listServices();
    const ints = integerIds(all);
    const shown = sortedHosts(all).filter((h) => (host === undefined || h.host === host) && (binary === undefined || binary === BINARY));
    return { services: shown.map((h) => view(req, h, ints)) };
  });

  async function setDisabled(host: string, disabled: boolean, reason: string | null): Promise<ComputeHost> {
    if (!(await repo.setServiceDisabled(host, disabled, reason))) throw notFound(`Compute host ${host.slice(0, 64)} could not be found.`);
    return (await repo.getService(host))!;
  }

  app.put('/os-services/:id', { schema: { tags, summary: 'Enable or disable a compute service', body: AnyUpdate } }, async (req) => {
    authorize(ctx, req, PolicyRule.SERVICES_UPDATE);
    const id = param(req, 'id');
    if (!atLeast(req.microversion, '2.53')) {
      if (!['enable', 'disable', 'disable-log-reason'].includes(id)) throw notFound(`Unknown action ${id.slice(0, 64)}`);
      const b = checkBody<Static<typeof LegacyBody>>(LegacyBody, req.body);
      if (b.binary !== BINARY) throw notFound(`Service ${b.binary.slice(0, 64)} on host ${b.host.slice(0, 64)} could not be found.`);
      if (id === 'disable-log-reason' && b.disabled_reason === undefined) throw badRequest('Missing disabled reason field');
      const h = await setDisabled(b.host, id !== 'enable', id === 'disable-log-reason' ? b.disabled_reason! : null);
      return { service: { host: h.host, binary: BINARY, status: h.disabled ? 'disabled' : 'enabled',
        ...(id === 'disable-log-reason' ? { disabled_reason: h.disabledReason } : {}) } };
    }
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) throw badRequest(`Invalid uuid ${id.slice(0, 64)}`);
    const b = checkBody<Static<typeof UpdateBody>>(UpdateBody, req.body);
    if (b.status === undefined && b.forced_down === undefined) throw badRequest("'status' and/or 'forced_down' must be specified.");
    if (b.disabled_reason !== undefined && b.status !== 'disabled') throw badRequest("Specifying 'disabled_reason' with status 'enabled' is invalid.");
    if (b.forced_down === true) throw badRequest('Baton detects down services from heartbeats; forced_down=true is not supported.');
    const all = await repo.listServices();
    const target = all.find((h) => nameUuid('service', h.host) === id.toLowerCase());
    if (!target) throw notFound(`Service ${id} could not be found.`);
    const h = b.status === undefined ? target : await setDisabled(target.host, b.status === 'disabled', b.disabled_reason ?? null);
    return { service: view(req, h, integerIds(all)) };
  });
}
