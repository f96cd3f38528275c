/**
 * Version discovery at / and /v2.1, and the microversion hook. The version document holds version and
 * min_version (without them the clients fall back to 2.0 or crash) and answers without a token.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { baseUrl, type ApiContext } from './api-context.js';
import { LEGACY_HEADER, MAX_VERSION, MIN_VERSION, NEW_HEADER, formatVersion, negotiate, versionHeaders } from './microversion.js';

function v21(base: string): Record<string, unknown> {
  return {
    id: 'v2.1', status: 'CURRENT', version: formatVersion(MAX_VERSION), min_version: formatVersion(MIN_VERSION),
    updated: '2013-07-23T11:33:21Z', links: [{ rel: 'self', href: `${base}/v2.1/` }],
    'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.compute+json;version=2.1' }],
  };
}

/** Negotiates the microversion of every compute request and echoes it on the response. */
export function registerMicroversionHook(app: FastifyInstance): void {
  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    if (!req.url.startsWith('/v2.1')) return;
    // A version error is answered by the error handler, with the fault body.
    req.microversion = negotiate(req.headers[NEW_HEADER], req.headers[LEGACY_HEADER]);
    void reply.headers(versionHeaders(req.microversion));
  });
}

export async function versionRoutes(app: FastifyInstance, opts: { ctx: ApiContext }): Promise<void> {
  const { ctx } = opts;
  app.get('/', { schema: { tags: ['versions'], summary: 'Compute API versions' } }, async (req) => ({ versions: [v21(baseUrl(ctx, req))] }));
  app.get('/v2.1', { schema: { tags: ['versions'], summary: 'Compute v2.1 version document' } }, async (req) => ({ version: v21(baseUrl(ctx, req)) }));
}
