/**
 * Errors the HTTP layer raises itself, and the mapping of every error to Nova's fault body
 * ({"badRequest": {"code": 400, "message": "..."}}) with Nova's status codes.
 */
import { BatonError } from '../../core/errors.js';

/** An HTTP error with Nova's status; the message is what the client prints. */
export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'ApiError';
  }
}

export const badRequest = (msg: string): ApiError => new ApiError(400, msg);
export const forbidden = (msg: string): ApiError => new ApiError(403, msg);
export const notFound = (msg = 'The resource could not be found.'): ApiError => new ApiError(404, msg);
export const conflict = (msg: string): ApiError => new ApiError(409, msg);

/** Nova's fault names, keyed by status (nova/api/openstack/wsgi.py Fault). */
const FAULT_NAMES: Readonly<Record<number, string>> = {
  400: 'badRequest', 401: 'unauthorized', 403: 'forbidden', 404: 'itemNotFound', 405: 'badMethod', 406: 'notAcceptable',
  409: 'conflictingRequest', 413: 'overLimit', 415: 'badMediaType', 429: 'overLimit', 501: 'notImplemented',
  503: 'serviceUnavailable',
};

export interface Fault {
  readonly status: number;
  readonly body: Record<string, { code: number; message: string }>;
}

export function faultBody(status: number, message: string): Fault {
  const name = FAULT_NAMES[status] ?? (status >= 500 ? 'computeFault' : 'badRequest');
  return { status, body: { [name]: { code: status, message } } };
}

interface FastifyLikeError {
  readonly statusCode?: number;
  readonly code?: string;
  readonly message?: string;
}

/** Any thrown value to a status and message. Only a genuine server fault becomes a 5xx. */
export function classify(err: unknown): { status: number; message: string } {
  if (err instanceof ApiError) return { status: err.status, message: err.message };
  if (err instanceof BatonError) return { status: err.httpStatus, message: err.message };
  const e = (err ?? {}) as FastifyLikeError;
  if (e.code === 'FST_ERR_VALIDATION') return { status: 400, message: `Invalid input for field/attribute. ${e.message ?? ''}`.trim() };
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return { status: e.statusCode, message: e.message ?? 'Bad request' };
  }
  return { status: 500, message: 'Unexpected API Error. Please report this at the Baton issue tracker and attach the API log if possible.' };
}
