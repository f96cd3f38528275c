/**
 * External services for contract and multi-process tests. Under CI=true a missing service fails the
 * suite naming the service and its URL; elsewhere the suite is skipped with the same message.
 */
import { Socket } from 'node:net';
import { maskUrl } from '../../src/config/url-mask.js';

export const PG_URL = process.env['BATON_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
export const AMQP_URL = process.env['BATON_TEST_AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672';

export const IN_CI = process.env['CI'] === 'true' || process.env['CI'] === '1';

/** Resolves with null when host:port accepts a TCP connection, else with the reason. */
export function probeTcp(url: string, defaultPort: number, timeoutMs = 2000): Promise<string | null> {
  const u = new URL(url);
  const port = Number(u.port || defaultPort);
  const host = u.hostname || '127.0.0.1';
  return new Promise((resolve) => {
    const s = new Socket();
    const done = (why: string | null) => { s.destroy(); resolve(why); };
    s.setTimeout(timeoutMs, () => done(`no answer within ${timeoutMs} ms`));
    s.once('error', (e) => done(e.message));
    s.connect(port, host, () => done(null));
  });
}

export interface Gate {
  /** Why the service cannot be used, or null when it can. */
  readonly problem: string | null;
  /** For describe(): skip outside CI when the service is missing. */
  readonly skip: string | false;
}

export async function gate(service: string, url: string, defaultPort: number): Promise<Gate> {
  const why = await probeTcp(url, defaultPort);
  if (why === null) return { problem: null, skip: false };
  const problem = `${service} at ${maskUrl(url)} is unreachable: ${why}`;
  return { problem, skip: IN_CI ? false : `${problem} (set CI=true to make this a failure)` };
}

/** Throws (failing the test) when a gated service is missing; under CI the gate does not skip, so this runs. */
export function requireService(g: Gate): void {
  if (g.problem !== null) throw new Error(g.problem);
}
