/**
 * Signed, self-contained tokens: base64url(JSON claims) + "." + HMAC-SHA256. Any API process holding the
 * same key verifies them without shared state; expiry is inside the signed claims.
 */
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';

export interface TokenClaims {
  readonly user: string;
  readonly project: string;
  readonly roles: readonly string[];
  readonly methods: readonly string[];
  /** Epoch milliseconds. */
  readonly issuedAt: number;
  readonly expiresAt: number;
  readonly auditId: string;
}

export class TokenCodec {
  readonly #key: Buffer;

  constructor(secret: string | null) {
    this.#key = secret === null ? randomBytes(32) : Buffer.from(secret, 'utf8');
  }

  issue(c: Omit<TokenClaims, 'auditId'>): { token: string; claims: TokenClaims } {
    const claims: TokenClaims = { ...c, auditId: randomUUID().replace(/-/g, '').slice(0, 22) };
    const payload = Buffer.from(JSON.stringify(claims), 'utf8').toString('base64url');
    return { token: `${payload}.${this.#sign(payload)}`, claims };
  }

  /** The claims of a valid, unexpired token; null for anything else. */
  verify(token: string, now: number): TokenClaims | null {
    const dot = token.indexOf('.');
    if (dot <= 0 || token.length > 4096) return null;
    const payload = token.slice(0, dot);
    const given = Buffer.from(token.slice(dot + 1), 'utf8');
    const expected = Buffer.from(this.#sign(payload), 'utf8');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    try {
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as TokenClaims;
      return typeof claims.expiresAt === 'number' && claims.expiresAt > now ? claims : null;
    } catch {
      return null;
    }
  }

  #sign(payload: string): string {
    return createHmac('sha256', this.#key).update(payload).digest('base64url');
  }
}
