/**
 * One HTTP exchange with Keystone or Nova: JSON in, JSON out, errors turned into ApiError (with the
 * fault message) or ConnectionError (naming the URL). Only this file touches fetch.
 */
import { ApiError, ConnectionError } from './client-errors.js';

export interface HttpReply {
  readonly status: number;
  readonly headers: Headers;
  readonly body: unknown;
}

const TIMEOUT_MS = 30_000;

function causeCode(e: unknown): string | undefined {
  const cause = (e as { cause?: { code?: unknown } }).cause;
  return typeof cause?.code === 'string' ? cause.code : undefined;
}

function describeNetworkError(url: string, e: unknown): string {
  const code = causeCode(e);
  const origin = new URL(url).origin;
  if (code === 'ECONNREFUSED') return `cannot connect to ${origin} (connection refused); is \`baton up\` running? (${url})`;
  if (code === 'ENOTFOUND') return `cannot resolve the host of ${url}`;
  if (e instanceof Error && e.name === 'TimeoutError') return `no answer from ${url} within ${TIMEOUT_MS / 1000} s`;
  return `request to ${url} failed: ${code ?? (e instanceof Error ? e.message : String(e))}`;
}

/**
 * The message of an error body. Nova wraps it as {"itemNotFound": {"code": 404, "message": "..."}},
 * Keystone as {"error": {"code": 401, "message": "..."}}, Fastify's defaults as {"message": "..."}.
 */
export function faultOf(body: unknown, status: number): { fault: string; message: string } {
  if (body && typeof body === 'object') {
    const obj = body as Record<string, unknown>;
    if (typeof obj.message === 'string') return { fault: typeof obj.error === 'string' ? obj.error : `HTTP ${status}`, message: obj.message };
    for (const [key, v] of Object.entries(obj)) {
      if (v && typeof v === 'object' && typeof (v as { message?: unknown }).message === 'string') {
        return { fault: key, message: (v as { message: string }).message };
      }
    }
  }
  if (typeof body === 'string' && body.trim() !== '') return { fault: `HTTP ${status}`, message: body.trim().slice(0, 500) };
  return { fault: `HTTP ${status}`, message: `HTTP ${status} with no error message` };
}

export async function httpJson(method: string, url: string, headers: Record<string, string>, body?: unknown): Promise<HttpReply> {
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: { Accept: 'application/json', ...(body === undefined ? {} : { 'Content-Type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (e) {
    throw new ConnectionError(describeNetworkError(url, e));
  }
  const text = await res.text();
  let parsed: unknown = text;
  if (text !== '') {
    try { parsed = JSON.parse(text); } catch { /* not JSON: keep the text, it may still be an error message */ }
  } else {
    parsed = null;
  }
  if (!res.ok) {
    const { fault, message } = faultOf(parsed, res.status);
    throw new ApiError(res.status, fault, message);
  }
  return { status: res.status, headers: res.headers, body: parsed };
}
