/**
 * The one error handler: every error becomes Nova's fault body with Nova's status (Keystone's error body
 * under /identity). Anything unexpected is logged and answered as a 500 without internals.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { keystoneError } from '../auth/keystone-views.js';
import { classify, faultBody } from './api-errors.js';
import type { ApiContext } from './api-context.js';

function send(req: FastifyRequest, reply: FastifyReply, status: number, message: string): FastifyReply {
  if (req.url.startsWith('/identity')) return reply.code(status).send(keystoneError(status, message));
  const f = faultBody(status, message);
  return reply.code(f.status).type('application/json; charset=utf-8').send(f.body);
}

export function installErrorHandler(app: FastifyInstance, ctx: ApiContext): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const { status, message } = classify(err);
    if (status >= 500) ctx.deps.log('api: unexpected error', { method: req.method, url: req.url.slice(0, 200), error: String(err?.stack ?? err) });
    return send(req, reply, status, message);
  });
  app.setNotFoundHandler((req, reply) => send(req, reply, 404, 'The resource could not be found.'));
}
