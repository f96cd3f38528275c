/** Keystone v3 response bodies: the version document and the token with its service catalog. */
import type { TokenClaims } from './token-codec.js';

const DOMAIN = { id: 'default', name: 'Default' } as const;

export function identityVersion(base: string): Record<string, unknown> {
  return {
    id: 'v3.14', status: 'stable', updated: '2020-04-07T00:00:00Z',
    links: [{ rel: 'self', href: `${base}/identity/v3/` }],
    'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.identity-v3+json' }],
  };
}

function endpoints(service: string, url: string): Record<string, unknown>[] {
  return (['public', 'internal', 'admin'] as const).map((iface) => ({
    id: `${service}-${iface}`, interface: iface, region: 'RegionOne', region_id: 'RegionOne', url,
  }));
}

/** Compute points at this API; image at the Glance subset; identity at the Keystone subset. */
export function catalog(base: string): Record<string, unknown>[] {
  return [
    { id: 'compute', type: 'compute', name: 'nova', endpoints: endpoints('compute', `${base}/v2.1`) },
    { id: 'image', type: 'image', name: 'glance', endpoints: endpoints('image', `${base}/image`) },
    { id: 'identity', type: 'identity', name: 'keystone', endpoints: endpoints('identity', `${base}/identity`) },
  ];
}

function keystoneTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export function tokenBody(c: TokenClaims, base: string, withCatalog: boolean): Record<string, unknown> {
  return {
    token: {
      methods: c.methods, audit_ids: [c.auditId], is_domain: false,
      expires_at: keystoneTime(c.expiresAt), issued_at: keystoneTime(c.issuedAt),
      user: { id: c.user, name: c.user, domain: DOMAIN, password_expires_at: null },
      project: { id: c.project, name: c.project, domain: DOMAIN },
      roles: c.roles.map((r) => ({ id: r, name: r })),
      ...(withCatalog ? { catalog: catalog(base) } : {}),
    },
  };
}

export function keystoneError(code: number, message: string): Record<string, unknown> {
  const title = code === 401 ? 'Unauthorized' : code === 404 ? 'Not Found' : code === 403 ? 'Forbidden' : 'Bad Request';
  return { error: { code, message, title } };
}
