/**
 * The HTTP API: a Fastify app with the Nova-compatible compute API under /v2.1, the Keystone subset
 * under /identity, the Glance subset under /image, and OpenAPI at /openapi.json.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { registerAuthHook } from '../auth/auth-hook.js';
import { keystonePlugin } from '../auth/keystone-plugin.js';
import { TokenCodec } from '../auth/token-codec.js';
import { glancePlugin } from '../image/glance-plugin.js';
import { DEFAULT_IMAGES } from '../image/image-catalog.js';
import { newContext, type ApiDeps } from './api-context.js';
import { auditPlugin } from './audit-plugin.js';
import { installValidator } from './body-validator.js';
import { drainsPlugin } from './drains-plugin.js';
import { installErrorHandler } from './error-handler.js';
import { flavorsPlugin } from './flavors-plugin.js';
import { hypervisorsPlugin } from './hypervisors-plugin.js';
import { instanceActionsPlugin } from './instance-actions-plugin.js';
import { journalPlugin } from './journal-plugin.js';
import type { Microversion } from './microversion.js';
import { migrationsPlugin } from './migrations-plugin.js';
import { collectRoutes, registerOpenApiRoute } from './openapi-routes.js';
import { serverActionsPlugin } from './server-actions-plugin.js';
import { serverMigrationsPlugin } from './server-migrations-plugin.js';
import { serversPlugin } from './servers-plugin.js';
import { servicesPlugin } from './services-plugin.js';
import { registerMicroversionHook, versionRoutes } from './version-routes.js';

export type { ApiDeps } from './api-context.js';

const COMPUTE_PLUGINS = [serversPlugin, serverActionsPlugin, serverMigrationsPlugin, migrationsPlugin, flavorsPlugin, servicesPlugin,
  hypervisorsPlugin, instanceActionsPlugin, journalPlugin, auditPlugin, drainsPlugin] as const;

/** JSON bodies; an empty body (some clients send a JSON content type on DELETE) parses as no body. */
function installJsonParser(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (String(body).trim() === '') { done(null, undefined); return; }
    parse(req, String(body), done);
  });
}

export function buildApiApp(deps: ApiDeps): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 1 << 20, routerOptions: { ignoreTrailingSlash: true, maxParamLength: 500 } });
  const ctx = newContext(deps, deps.auth ? new TokenCodec(deps.auth.tokenSecret) : null, deps.images ?? DEFAULT_IMAGES);
  const routes = collectRoutes(app);
  // Set by the microversion hook on every /v2.1 request, before any compute route runs.
  app.decorateRequest('microversion', null as unknown as Microversion);
  app.decorateRequest('principal', null);
  installJsonParser(app);
  installValidator(app);
  installErrorHandler(app, ctx);
  registerAuthHook(app, ctx);
  registerMicroversionHook(app);
  void app.register(versionRoutes, { ctx });
  void app.register(keystonePlugin, { ctx });
  void app.register(glancePlugin, { ctx });
  for (const plugin of COMPUTE_PLUGINS) void app.register(plugin, { ctx, prefix: '/v2.1' });
  registerOpenApiRoute(app, routes);
  return app;
}

export interface RunningApi {
  readonly url: string;
  close(): Promise<void>;
}

export async function startApiServer(deps: ApiDeps, opts: { host: string; port: number }): Promise<RunningApi> {
  if (deps.auth === null) deps.log('API AUTHENTICATION IS DISABLED (--no-auth): every request acts as admin. Embedded demo only.');
  const app = buildApiApp(deps);
  await app.listen({ host: opts.host, port: opts.port });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return { url: deps.publicUrl ?? `http://${host}:${port}`, close: () => app.close() };
}
