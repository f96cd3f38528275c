/**
 * POST /servers: validate (networks required from 2.37, host/hypervisor_hostname from 2.74), resolve the
 * flavor and image, and hand the build to the conductor. The server starts in BUILD and becomes ACTIVE.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { PolicyRule } from '../auth/policy-rules.js';
import { findImage } from '../image/image-catalog.js';
import { requestCreateServer } from '../server-request.js';
import { authorize, type ApiContext } from './api-context.js';
import { badRequest } from './api-errors.js';
import { atLeast } from './microversion.js';
import { serverLinks } from './server-view.js';
import { baseUrl } from './api-context.js';

const HOSTNAME = Type.String({ minLength: 1, maxLength: 255, pattern: '^[a-zA-Z0-9-._]*$' });
const Ref = Type.Union([Type.String({ maxLength: 1024 }), Type.Integer({ minimum: 0 })]);
const Count = Type.Union([Type.Integer({ minimum: 1, maximum: 1000 }), Type.String({ pattern: '^[1-9][0-9]{0,2}$' })]);
const Network = Type.Object({ uuid: Type.Optional(Type.String({ maxLength: 64 })), port: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()])),
  fixed_ip: Type.Optional(Type.String({ maxLength: 64 })), tag: Type.Optional(Type.String({ maxLength: 60 })) }, { additionalProperties: false });

const ServerSpec = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 255, pattern: '^\\S(.*\\S)?$' }),
  flavorRef: Ref,
  imageRef: Type.Optional(Type.Union([Type.String({ maxLength: 1024 }), Type.Null()])),
  networks: Type.Optional(Type.Union([Type.Literal('auto'), Type.Literal('none'), Type.Array(Network, { maxItems: 64 })])),
  host: Type.Optional(HOSTNAME),
  hypervisor_hostname: Type.Optional(HOSTNAME),
  availability_zone: Type.Optional(Type.String({ maxLength: 255 })),
  min_count: Type.Optional(Count),
  max_count: Type.Optional(Count),
  return_reservation_id: Type.Optional(Type.Boolean()),
  metadata: Type.Optional(Type.Record(Type.String({ maxLength: 255 }), Type.String({ maxLength: 255 }))),
  key_name: Type.Optional(Type.String({ maxLength: 255 })),
  security_groups: Type.Optional(Type.Array(Type.Object({ name: Type.String({ maxLength: 255 }) }), { maxItems: 64 })),
  user_data: Type.Optional(Type.String({ maxLength: 65_535 })),
  config_drive: Type.Optional(Type.Union([Type.Boolean(), Type.String({ maxLength: 16 })])),
  adminPass: Type.Optional(Type.String({ maxLength: 255 })),
  description: Type.Optional(Type.Union([Type.String({ maxLength: 255 }), Type.Null()])),
  'OS-DCF:diskConfig': Type.Optional(Type.Union([Type.Literal('AUTO'), Type.Literal('MANUAL')])),
  block_device_mapping_v2: Type.Optional(Type.Array(Type.Record(Type.String(), Type.Unknown()), { maxItems: 64 })),
}, { additionalProperties: false });

export const CreateServerBody = Type.Object({
  server: ServerSpec,
  'os:scheduler_hints': Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  'OS-SCH-HNT:scheduler_hints': Type.Optional(Type.Record(Type.String(), Type.Unknown())),
}, { additionalProperties: false });
type CreateServer = Static<typeof CreateServerBody>;

/** flavorRef and imageRef may be ids or links; the id is the last path segment. */
function lastSegment(ref: string | number): string {
  const s = String(ref).replace(/\/+$/, '');
  return s.slice(s.lastIndexOf('/') + 1);
}

function checkVersionedFields(v: Parameters<typeof atLeast>[0], s: CreateServer['server']): void {
  if (!atLeast(v, '2.74')) {
    for (const key of ['host', 'hypervisor_hostname'] as const) {
      if (s[key] !== undefined) throw badRequest(`Invalid input for field/attribute server. Additional properties are not allowed ('${key}' was unexpected)`);
    }
  }
  if (atLeast(v, '2.37') && s.networks === undefined) throw badRequest("Invalid input for field/attribute server. 'networks' is a required property");
  if (!atLeast(v, '2.37') && typeof s.networks === 'string') throw badRequest(`Invalid input for field/attribute networks. Value: ${s.networks}. Expected an array`);
  if (s.hypervisor_hostname !== undefined && s.host !== undefined && s.host !== s.hypervisor_hostname) {
    throw badRequest('Compute host and hypervisor hostname must name the same host.');
  }
}

export function registerServerCreate(app: FastifyInstance, ctx: ApiContext): void {
  app.post('/servers', { schema: { tags: ['servers'], summary: 'Create a server', body: CreateServerBody } }, async (req, reply) => {
    const s = (req.body as CreateServer).server;
    checkVersionedFields(req.microversion, s);
    const who = authorize(ctx, req, PolicyRule.SERVERS_CREATE);
    const host = s.host ?? s.hypervisor_hostname ?? null;
    if (host !== null) authorize(ctx, req, PolicyRule.SERVERS_CREATE_HOST);
    const imageRef = s.imageRef === undefined || s.imageRef === null ? '' : lastSegment(s.imageRef);
    const image = findImage(ctx.images, imageRef);
    if (!image) throw badRequest(`Image ${imageRef.slice(0, 64)} could not be found.`);
    const count = Number(s.min_count ?? 1);
    if (count > Number(s.max_count ?? count)) throw badRequest('min_count must be <= max_count');
    if (count > 10) throw badRequest('Baton creates at most 10 servers per request.');
    let first = null;
    for (let n = 1; n <= count; n += 1) {
      const name = count === 1 ? s.name : `${s.name}-${n}`;
      const inst = await requestCreateServer(ctx.deps.requests, { name, flavorRef: lastSegment(s.flavorRef), imageRef: image.id, host,
        projectId: who.projectId, userId: who.userId });
      first ??= inst;
    }
    const links = serverLinks(baseUrl(ctx, req), first!.uuid);
    void reply.code(202).header('Location', links[0]!.href);
    if (s.return_reservation_id) return { reservation_id: `r-${first!.uuid.slice(0, 8)}` };
    return { server: { id: first!.uuid, links, 'OS-DCF:diskConfig': s['OS-DCF:diskConfig'] ?? 'MANUAL', security_groups: [{ name: 'default' }],
      adminPass: s.adminPass ?? randomBytes(9).toString('base64url') } };
  });
}
