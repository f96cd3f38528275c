/**
 * Who may log in: the users of the Keystone subset, their project and roles, and how long a token lives.
 * The config-file loader builds an AuthConfig from the config file; the embedded demo uses DEFAULT_EMBEDDED_AUTH.
 */

export const Role = { ADMIN: 'admin', MEMBER: 'member' } as const;
export type Role = (typeof Role)[keyof typeof Role];

export interface AuthUser {
  readonly name: string;
  readonly password: string;
  /** Project name; Baton uses it as the project id as well. */
  readonly project: string;
  readonly roles: readonly Role[];
}

export interface AuthConfig {
  readonly users: readonly AuthUser[];
  /** Lifetime of an issued token. */
  readonly tokenTtlSeconds: number;
  /**
   * Key that signs tokens, so any API process with the same key accepts them. Null: a random key per
   * process (tokens die with it).
   */
  readonly tokenSecret: string | null;
}

export const DEFAULT_TOKEN_TTL_SECONDS = 3600;

export const DEFAULT_EMBEDDED_AUTH: AuthConfig = {
  users: [
    { name: 'admin', password: 'admin', project: 'admin', roles: ['admin'] },
    { name: 'demo', password: 'demo', project: 'demo', roles: ['member'] },
  ],
  tokenTtlSeconds: DEFAULT_TOKEN_TTL_SECONDS,
  tokenSecret: null,
};

/** The identity a request acts as, once its token is verified (or the fixed admin under --no-auth). */
export interface Principal {
  readonly userId: string;
  readonly userName: string;
  readonly projectId: string;
  readonly roles: readonly string[];
}

export const NO_AUTH_PRINCIPAL: Principal = { userId: 'admin', userName: 'admin', projectId: 'admin', roles: ['admin', 'member'] };

export function isAdmin(p: Principal): boolean {
  return p.roles.includes(Role.ADMIN);
}
