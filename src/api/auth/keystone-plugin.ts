/**
 * The Keystone v3 subset the stock clients need: version discovery, and POST /v3/auth/tokens with the
 * password and token methods answering 201, X-Subject-Token and a token body with a catalog.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { baseUrl, type ApiContext } from '../http/api-context.js';
import type { AuthConfig, AuthUser } from './auth-config.js';
import { identityVersion, keystoneError, tokenBody } from './keystone-views.js';
import type { TokenClaims } from './token-codec.js';

const Named = Type.Object({ id: Type.Optional(Type.String({ maxLength: 255 })), name: Type.Optional(Type.String({ maxLength: 255 })) });
const AuthBody = Type.Object({
  auth: Type.Object({
    identity: Type.Object({
      methods: Type.Array(Type.String({ maxLength: 64 }), { minItems: 1, maxItems: 4 }),
      password: Type.Optional(Type.Object({
        user: Type.Object({ id: Type.Optional(Type.String({ maxLength: 255 })), name: Type.Optional(Type.String({ maxLength: 255 })),
          password: Type.String({ maxLength: 4096 }), domain: Type.Optional(Named) }),
      })),
      token: Type.Optional(Type.Object({ id: Type.String({ maxLength: 4096 }) })),
    }),
    scope: Type.Optional(Type.Union([Type.Object({ project: Named }), Type.String(), Type.Object({})])),
  }),
});

interface AuthRequest {
  auth: {
    identity: { methods: string[]; password?: { user: { id?: string; name?: string; password: string } }; token?: { id: string } };
    scope?: { project?: { id?: string; name?: string } } | string;
  };
}

const UNAUTHORIZED = 'The request you have made requires authentication.';

function findUser(cfg: AuthConfig, body: AuthRequest, ctx: ApiContext, now: number): { user: AuthUser; methods: string[]; expiresAt?: number } | null {
  const { identity } = body.auth;
  if (identity.methods.includes('password') && identity.password) {
    const u = identity.password.user;
    const user = cfg.users.find((x) => (u.name !== undefined ? x.name === u.name : x.name === u.id));
    return user && user.password === u.password ? { user, methods: ['password'] } : null;
  }
  if (identity.methods.includes('token') && identity.token && ctx.tokens) {
    const claims = ctx.tokens.verify(identity.token.id, now);
    const user = claims ? cfg.users.find((x) => x.name === claims.user) : undefined;
    return user && claims ? { user, methods: ['token'], expiresAt: claims.expiresAt } : null;
  }
  return null;
}

function scopeMatches(body: AuthRequest, user: AuthUser): boolean {
  const scope = body.auth.scope;
  if (scope === undefined) return true;
  if (typeof scope === 'string' || !scope.project) return false;
  const want = scope.project.name ?? scope.project.id;
  return want === undefined || want === user.project;
}

export async function keystonePlugin(app: FastifyInstance, opts: { ctx: ApiContext }): Promise<void> {
  const { ctx } = opts;
  const cfg = ctx.deps.auth;
  const clock = ctx.deps.requests.clock;

  app.get('/identity', { schema: { tags: ['identity'], summary: 'Identity API versions' } },
    async (req) => ({ versions: { values: [identityVersion(baseUrl(ctx, req))] } }));
  app.get('/identity/v3', { schema: { tags: ['identity'], summary: 'Identity v3 version document' } },
    async (req) => ({ version: identityVersion(baseUrl(ctx, req)) }));

  app.post('/identity/v3/auth/tokens', { schema: { tags: ['identity'], summary: 'Issue a token', body: AuthBody } },
    async (req: FastifyRequest, reply: FastifyReply) => {
      if (!cfg || !ctx.tokens) return reply.code(404).send(keystoneError(404, 'Authentication is disabled (--no-auth).'));
      const body = req.body as AuthRequest;
      const now = clock.now();
      const found = findUser(cfg, body, ctx, now);
      if (!found || !scopeMatches(body, found.user)) return reply.code(401).send(keystoneError(401, UNAUTHORIZED));
      const { token, claims } = ctx.tokens.issue({ user: found.user.name, project: found.user.project, roles: found.user.roles,
        methods: found.methods, issuedAt: now, expiresAt: found.expiresAt ?? now + cfg.tokenTtlSeconds * 1000 });
      const noCatalog = (req.query as Record<string, unknown> | undefined)?.['nocatalog'] !== undefined;
      return reply.code(201).header('X-Subject-Token', token).send(tokenBody(claims, baseUrl(ctx, req), !noCatalog));
    });

  app.get('/identity/v3/auth/tokens', { schema: { tags: ['identity'], summary: 'Validate a token' } }, async (req, reply) => {
    const now = clock.now();
    const check = (h: unknown): TokenClaims | null => (typeof h === 'string' && ctx.tokens ? ctx.tokens.verify(h, now) : null);
    if (!check(req.headers['x-auth-token'])) return reply.code(401).send(keystoneError(401, UNAUTHORIZED));
    const subject = check(req.headers['x-subject-token']);
    if (!subject) return reply.code(404).send(keystoneError(404, 'Could not find token.'));
    return reply.header('X-Subject-Token', String(req.headers['x-subject-token'])).send(tokenBody(subject, baseUrl(ctx, req), true));
  });
}
