/**
 * Decodes an incoming request. The broker carries bytes from anyone, so a message is only handed to a
 * handler once it is known to be a JSON Envelope; otherwise the caller gets the reason for the log.
 */
import type { Envelope } from '../../transport.js';

export type Decoded = { readonly env: Envelope; readonly problem?: undefined } | { readonly env?: undefined; readonly problem: string };

const KINDS = new Set(['call', 'cast', 'lcall']);

/** A Baton message is a few KiB; anything this large is refused before it is parsed. */
export const MAX_ENVELOPE_BYTES = 1024 * 1024;

export function decodeEnvelope(content: Buffer): Decoded {
  if (content.length > MAX_ENVELOPE_BYTES) return { problem: `oversized (${content.length} bytes, the limit is ${MAX_ENVELOPE_BYTES})` };
  let value: unknown;
  try {
    value = JSON.parse(content.toString('utf8'));
  } catch (err) {
    return { problem: `not JSON (${err instanceof Error ? err.message : String(err)})` };
  }
  const problem = envelopeProblem(value);
  return problem ? { problem: `not an Envelope (${problem})` } : { env: value as Envelope };
}

function envelopeProblem(value: unknown): string | null {
  if (!isObject(value)) return 'not an object';
  for (const key of ['v', 'id', 'method'] as const) {
    if (typeof value[key] !== 'string') return `field "${key}" is not a string`;
  }
  if (typeof value.kind !== 'string' || !KINDS.has(value.kind)) return `field "kind" is not call, cast or lcall`;
  const from = value.from;
  if (!isObject(from) || typeof from.role !== 'string' || typeof from.host !== 'string') {
    return 'field "from" is not {role, host}';
  }
  if (!isObject(value.args)) return 'field "args" is not an object';
  return null;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
