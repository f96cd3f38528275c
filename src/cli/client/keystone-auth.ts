/** Keystone v3 password authentication: a project-scoped token and the compute endpoint from its catalog. */
import type { ConnectionSettings } from './connection-options.js';
import { ApiError, UsageError } from './client-errors.js';
import { httpJson } from './http-transport.js';

export interface Session {
  readonly token: string | null;
  readonly computeUrl: string;
}

interface CatalogEntry {
  readonly type?: string;
  readonly endpoints?: readonly { readonly interface?: string; readonly url?: string }[];
}

/** Picks the public (else any) endpoint of the compute service in a Keystone v3 catalog. */
export function computeEndpoint(catalog: readonly CatalogEntry[] | undefined): string | undefined {
  const svc = catalog?.find((c) => c.type === 'compute');
  const eps = svc?.endpoints ?? [];
  return (eps.find((e) => e.interface === 'public') ?? eps[0])?.url;
}

export function passwordAuthBody(s: ConnectionSettings): unknown {
  return {
    auth: {
      identity: {
        methods: ['password'],
        password: { user: { name: s.username, domain: { name: s.userDomain }, password: s.password } },
      },
      scope: { project: { name: s.projectName, domain: { name: s.projectDomain } } },
    },
  };
}

export async function openSession(s: ConnectionSettings): Promise<Session> {
  // Nova's noauth2 takes "user:project" as the token; a Baton server started with --no-auth ignores it.
  if (!s.auth) return { token: 'admin:admin', computeUrl: s.computeUrl };
  if (s.password === '') {
    throw new UsageError(`no password for ${s.username}: pass --os-password or set OS_PASSWORD (or --no-auth / BATON_NO_AUTH=1 for a server started with --no-auth)`);
  }
  let reply;
  try {
    reply = await httpJson('POST', `${s.authUrl}/auth/tokens`, {}, passwordAuthBody(s));
  } catch (e) {
    if (e instanceof ApiError) throw new ApiError(e.status, e.fault, `authentication as ${s.username} failed: ${e.message}`);
    throw e;
  }
  const token = reply.headers.get('x-subject-token');
  if (!token) throw new ApiError(reply.status, 'KeystoneError', `Keystone at ${s.authUrl} returned no X-Subject-Token`);
  const catalog = (reply.body as { token?: { catalog?: CatalogEntry[] } } | null)?.token?.catalog;
  const fromCatalog = computeEndpoint(catalog);
  const computeUrl = s.computeUrlExplicit || !fromCatalog ? s.computeUrl : fromCatalog;
  return { token, computeUrl: computeUrl.replace(/\/+$/, '') };
}
