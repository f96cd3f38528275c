/** The two service URLs of the config: which store and which transport, checked before anything connects. */
import { maskUrl } from './url-mask.js';

export type DatabaseTarget =
  | { readonly engine: 'sqlite'; readonly path: string }
  | { readonly engine: 'postgres'; readonly url: string };

export type TransportTarget =
  | { readonly kind: 'memory' }
  | { readonly kind: 'amqp'; readonly url: string };

/** `sqlite:PATH` (`sqlite::memory:` for a throwaway store) or `postgres://...` / `postgresql://...`. */
export function parseDatabaseUrl(url: string): DatabaseTarget | string {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    return path === '' ? `database URL ${url} names no file (use sqlite:PATH)` : { engine: 'sqlite', path };
  }
  if (/^postgres(ql)?:\/\//.test(url)) return hostProblem('database', url) ?? { engine: 'postgres', url };
  return `database URL ${maskUrl(url)} is not supported: use sqlite:PATH or postgres://user:pass@host:port/db`;
}

/** `memory://` (one process only) or `amqp://user:pass@host:port/vhost` (also amqps://). */
export function parseTransportUrl(url: string): TransportTarget | string {
  if (url === 'memory://' || url === 'memory:') return { kind: 'memory' };
  if (/^amqps?:\/\//.test(url)) return hostProblem('transport', url) ?? { kind: 'amqp', url };
  return `transport URL ${maskUrl(url)} is not supported: use memory:// or amqp://user:pass@host:port/vhost`;
}

/** Why a network URL is unusable, or null when it parses and names a host. */
function hostProblem(what: 'database' | 'transport', url: string): string | null {
  try {
    return new URL(url).hostname === '' ? `${what} URL ${maskUrl(url)} names no host` : null;
  } catch {
    return `${what} URL ${maskUrl(url)} is not a valid URL`;
  }
}
