/**
 * Serves a topic: validates each message (envelope, version, method, kind, arguments) and answers
 * a bad one with an error that names the problem. A handler's throw becomes a typed error reply.
 */
import type { Static, TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { BatonError, toErrorBody } from '../core/errors.js';
import { canHandle, parseVersion } from '../core/version.js';
import type { Envelope, MessageKind, Reply, Subscription, Transport } from './transport.js';

export interface MethodSpec<S extends TSchema = TSchema> {
  readonly kind: MessageKind;
  /** Version that introduced the method; older senders cannot have meant it. */
  readonly since: string;
  readonly args: S;
  readonly handle: (args: Static<S>, msg: Envelope) => Promise<unknown>;
}

export type MethodTable = Record<string, MethodSpec>;

export function method<S extends TSchema>(spec: MethodSpec<S>): MethodSpec {
  return spec as unknown as MethodSpec;
}

export interface ServerOptions {
  /** Highest version this server handles. */
  readonly version: string;
  readonly methods: MethodTable;
  readonly onBadMessage?: (problem: string, raw: unknown) => void;
  /** A cast has nobody to answer to, so its handler's failure is reported here instead. */
  readonly onCastError?: (method: string, message: string) => void;
}

/**
 * For a handler that finds the message itself unacceptable (e.g. a step result from a host that does not run
 * that step): the reply names the problem and the transport dead-letters the message instead of a plain failure.
 */
export function rejectMessage(message: string, fields: Record<string, unknown> = {}): BatonError {
  return new BatonError('InvalidRequest', message, { ...fields, rejected: true });
}

export async function serveRpc(transport: Transport, topic: string, opts: ServerOptions): Promise<Subscription> {
  const checks = new Map<string, TypeCheck<TSchema>>();
  for (const [name, spec] of Object.entries(opts.methods)) checks.set(name, TypeCompiler.Compile(spec.args));
  return transport.serve(topic, async (msg): Promise<Reply> => {
    const problem = validate(msg, opts, checks);
    if (problem !== null) {
      opts.onBadMessage?.(problem, msg);
      const error = new BatonError(problem.startsWith('UnsupportedVersion') ? 'UnsupportedVersion' : 'InvalidRequest',
        problem.replace(/^UnsupportedVersion: /, '')).toBody();
      return { ok: false, error, rejected: `${error.code}: ${error.message}` };
    }
    try {
      const result = await opts.methods[msg.method]!.handle(msg.args, msg);
      return { ok: true, result: result ?? null };
    } catch (e) {
      const error = toErrorBody(e);
      if (e instanceof BatonError && e.fields['rejected'] === true) {
        opts.onBadMessage?.(error.message, msg);
        return { ok: false, error, rejected: `${error.code}: ${error.message}` };
      }
      if (msg.kind === 'cast') opts.onCastError?.(msg.method, `${error.code}: ${error.message}`);
      return { ok: false, error };
    }
  });
}

function validate(msg: Envelope, opts: ServerOptions, checks: Map<string, TypeCheck<TSchema>>): string | null {
  if (typeof msg !== 'object' || msg === null) return 'message is not an object';
  if (typeof msg.method !== 'string') return 'message has no method';
  if (typeof msg.v !== 'string') return `message ${msg.method} has no version`;
  try {
    parseVersion(msg.v);
  } catch (e) {
    return `message ${msg.method}: ${(e as Error).message}`;
  }
  if (!canHandle(opts.version, msg.v)) return `UnsupportedVersion: ${msg.method} at version ${msg.v}; this server handles up to ${opts.version}`;
  const spec = opts.methods[msg.method];
  if (!spec) return `unknown method "${msg.method}"`;
  if (!canHandle(msg.v, spec.since)) return `UnsupportedVersion: ${msg.method} needs version ${spec.since}, message is ${msg.v}`;
  if (msg.kind !== spec.kind) return `${msg.method} must be sent as ${spec.kind}, not ${String(msg.kind)}`;
  if (typeof msg.args !== 'object' || msg.args === null) return `${msg.method}: args must be an object`;
  const check = checks.get(msg.method)!;
  if (!check.Check(msg.args)) {
    const first = check.Errors(msg.args).First();
    return `${msg.method}: invalid argument ${first?.path || '/'}: ${first?.message ?? 'does not match the schema'}`;
  }
  return null;
}
