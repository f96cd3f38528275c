/**
 * OpenAPI 3 at /openapi.json, built from the routes as they register: their paths, summaries and the
 * TypeBox body schemas (which are JSON Schema already).
 */
import type { FastifyInstance, RouteOptions } from 'fastify';
import { MAX_VERSION, MIN_VERSION, formatVersion } from './microversion.js';

declare module 'fastify' {
  interface FastifySchema {
    /** OpenAPI grouping and one-line description of the route. */
    tags?: readonly string[];
    summary?: string;
  }
}

interface RouteSchema {
  readonly summary?: string;
  readonly tags?: readonly string[];
  readonly body?: unknown;
}

interface CollectedRoute {
  readonly method: string;
  readonly url: string;
  readonly schema: RouteSchema;
}

/** Starts recording routes; call before any resource plugin registers. */
export function collectRoutes(app: FastifyInstance): CollectedRoute[] {
  const routes: CollectedRoute[] = [];
  app.addHook('onRoute', (r: RouteOptions) => {
    const methods = (Array.isArray(r.method) ? r.method : [r.method]).filter((m) => m !== 'HEAD');
    for (const method of methods) routes.push({ method: method.toLowerCase(), url: r.url, schema: (r.schema ?? {}) as RouteSchema });
  });
  return routes;
}

function openApiPath(url: string): { path: string; params: string[] } {
  const params: string[] = [];
  const path = url.replace(/:(\w+)/g, (_m, name: string) => { params.push(name); return `{${name}}`; });
  return { path: path === '' ? '/' : path, params };
}

export function openApiDocument(routes: readonly CollectedRoute[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    if (r.url === '/openapi.json') continue;
    const { path, params } = openApiPath(r.url);
    const op: Record<string, unknown> = {
      summary: r.schema.summary ?? `${r.method.toUpperCase()} ${path}`, tags: r.schema.tags ?? [],
      parameters: params.map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } })),
      responses: { default: { description: 'Nova-compatible response; errors use the fault body {"<name>": {"code", "message"}}' } },
    };
    if (r.schema.body !== undefined) op['requestBody'] = { required: true, content: { 'application/json': { schema: r.schema.body } } };
    (paths[path] ??= {})[r.method] = op;
  }
  return {
    openapi: '3.0.3',
    info: { title: 'Baton compute API (Nova-compatible subset)', version: formatVersion(MAX_VERSION),
      description: `Microversions ${formatVersion(MIN_VERSION)}..${formatVersion(MAX_VERSION)} via OpenStack-API-Version: compute X.Y` },
    components: { securitySchemes: { keystone: { type: 'apiKey', in: 'header', name: 'X-Auth-Token' } } },
    security: [{ keystone: [] }],
    paths,
  };
}

export function registerOpenApiRoute(app: FastifyInstance, routes: readonly CollectedRoute[]): void {
  let doc: string | null = null;
  app.get('/openapi.json', async (_req, reply) => {
    doc ??= JSON.stringify(openApiDocument(routes));
    return reply.type('application/json; charset=utf-8').send(doc);
  });
}
