/**
 * What every resource plugin shares: the dependencies, the policy, the token codec, and the
 * per-request microversion and principal that the hooks attach.
 */
import type { FastifyRequest } from 'fastify';
import type { RequestDeps } from '../live-migration-request.js';
import type { LogFn } from '../../runtime/logger.js';
import type { AuthConfig, Principal } from '../auth/auth-config.js';
import { Policy, type PolicyOverrides, type PolicyRule } from '../auth/policy-rules.js';
import type { TokenCodec } from '../auth/token-codec.js';
import type { ImageRecord } from '../image/image-catalog.js';
import { forbidden } from './api-errors.js';
import type { Microversion } from './microversion.js';

export interface ApiDeps {
  /** Store, RPC client, clock and ids: what the request functions need. */
  readonly requests: RequestDeps;
  /** Null turns authentication off (embedded demo only): every request acts as an admin. */
  readonly auth: AuthConfig | null;
  /** Overrides of Nova's default policy rules, by rule name. */
  readonly policy?: PolicyOverrides;
  /** A service whose last heartbeat is older than this is "down". */
  readonly serviceDownTimeMs: number;
  /** Base URL the catalog and links point at (e.g. http://127.0.0.1:8774); null derives it from the Host header. */
  readonly publicUrl: string | null;
  /** Images served by the Glance subset; defaults to the ones the drivers boot. */
  readonly images?: readonly ImageRecord[];
  readonly log: LogFn;
}

export interface ApiContext {
  readonly deps: ApiDeps;
  readonly policy: Policy;
  readonly tokens: TokenCodec | null;
  readonly images: readonly ImageRecord[];
}

declare module 'fastify' {
  interface FastifyRequest {
    microversion: Microversion;
    principal: Principal | null;
  }
}

export function newContext(deps: ApiDeps, tokens: TokenCodec | null, images: readonly ImageRecord[]): ApiContext {
  return { deps, policy: new Policy(deps.policy ?? {}), tokens, images };
}


/** The base URL links and the catalog use. */
export function baseUrl(ctx: ApiContext, req: FastifyRequest): string {
  if (ctx.deps.publicUrl !== null) return ctx.deps.publicUrl.replace(/\/+$/, '');
  const host = typeof req.headers.host === 'string' && /^[\w.:[\]-]{1,255}$/.test(req.headers.host) ? req.headers.host : '127.0.0.1';
  return `${req.protocol}://${host}`;
}

export function principalOf(req: FastifyRequest): Principal {
  if (!req.principal) throw forbidden('Authentication required.');
  return req.principal;
}

/** Throws Nova's 403 unless the policy allows `rule` for this request. */
export function authorize(ctx: ApiContext, req: FastifyRequest, rule: PolicyRule, targetProject?: string): Principal {
  const who = principalOf(req);
  if (!ctx.policy.allows(rule, who, targetProject)) throw forbidden(`Policy doesn't allow ${rule} to be performed.`);
  return who;
}

/** First value of a query parameter (repeated parameters arrive as arrays). */
export function queryParam(req: FastifyRequest, name: string): string | undefined {
  const q = (req.query ?? {}) as Record<string, unknown>;
  const v = q[name];
  if (Array.isArray(v)) return typeof v[0] === 'string' ? v[0] : undefined;
  return typeof v === 'string' ? v : undefined;
}

/** Every value of a query parameter. */
export function queryParams(req: FastifyRequest, name: string): string[] {
  const v = ((req.query ?? {}) as Record<string, unknown>)[name];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return typeof v === 'string' ? [v] : [];
}

/** A route parameter, which Fastify always gives as a string. */
export function param(req: FastifyRequest, name: string): string {
  const v = ((req.params ?? {}) as Record<string, unknown>)[name];
  return typeof v === 'string' ? v : '';
}
