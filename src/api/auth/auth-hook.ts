/**
 * Authentication of compute and image requests: X-Auth-Token must be a valid, unexpired token.
 * Version documents answer without a token (`openstack compute service list` reads /v2.1 that way).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiContext } from '../http/api-context.js';
import { faultBody } from '../http/api-errors.js';
import { NO_AUTH_PRINCIPAL, type Principal } from './auth-config.js';

const PROTECTED = /^\/(v2\.1\/.+|image\/v2\/.*|identity\/v3\/auth\/tokens.*)$/;

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return (q < 0 ? url : url.slice(0, q)).replace(/\/+$/, '');
}

export function needsToken(url: string): boolean {
  const p = pathOf(url);
  return PROTECTED.test(p) && !p.startsWith('/identity/');
}

function principalFrom(ctx: ApiContext, token: unknown): Principal | null {
  if (typeof token !== 'string' || !ctx.tokens) return null;
  const c = ctx.tokens.verify(token, ctx.deps.requests.clock.now());
  return c ? { userId: c.user, userName: c.user, projectId: c.project, roles: [...c.roles] } : null;
}

export function registerAuthHook(app: FastifyInstance, ctx: ApiContext): void {
  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    if (ctx.deps.auth === null) {
      req.principal = NO_AUTH_PRINCIPAL;
      return;
    }
    req.principal = principalFrom(ctx, req.headers['x-auth-token']);
    if (req.principal || !needsToken(req.url)) return;
    const f = faultBody(401, 'The request you have made requires authentication.');
    await reply.code(401).header('WWW-Authenticate', 'Keystone uri="/identity"').send(f.body);
  });
}
