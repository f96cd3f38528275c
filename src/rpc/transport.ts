/**
 * The Transport port: how RPC messages move between roles. Implementations: in-process (embedded
 * default; serializes every message) and AMQP 0-9-1 (RabbitMQ). Topics are "conductor" (shared by
 * every conductor, round-robin) and "compute.<host>" (one compute).
 */
import type { ErrorBody } from '../core/errors.js';

export const Role = { API: 'api', CONDUCTOR: 'conductor', COMPUTE: 'compute', CLI: 'cli', BENCH: 'bench' } as const;
export type Role = (typeof Role)[keyof typeof Role];

/** call: request/reply. cast: one way. lcall: request whose reply is only the receiver's acknowledgement. */
export type MessageKind = 'call' | 'cast' | 'lcall';

export interface Sender {
  readonly role: Role;
  readonly host: string;
}

/** One RPC message on the wire. JSON only. */
export interface Envelope {
  /** RPC API version the sender used, "major.minor"; the receiver refuses what it cannot handle. */
  readonly v: string;
  readonly id: string;
  readonly method: string;
  readonly kind: MessageKind;
  readonly from: Sender;
  readonly args: Record<string, unknown>;
}

export type Reply =
  | { readonly ok: true; readonly result: unknown }
  | {
    readonly ok: false;
    readonly error: ErrorBody;
    /**
     * Set by the server when it refuses the message itself (wrong version, unknown method, bad arguments, a
     * forged sender), not the work it asks for: why. A broker transport keeps such a message in its
     * dead-letter queue. Not sent back to the caller.
     */
    readonly rejected?: string;
  };

/** Serves one message. For call/lcall the resolved Reply goes back to the caller; for a cast it is dropped. */
export type Handler = (msg: Envelope) => Promise<Reply>;

export interface Subscription {
  /** Stops taking new messages and waits for the ones in progress. */
  close(): Promise<void>;
}

export interface Transport {
  /**
   * Consumes `topic`. Several servers on one topic share its messages. A cast is acknowledged to the
   * transport only after the handler resolves (so a crash before that redelivers it).
   */
  serve(topic: string, handler: Handler): Promise<Subscription>;
  /** Sends a request and resolves with its reply; rejects with BatonError MessagingTimeout after timeoutMs. */
  request(topic: string, msg: Envelope, timeoutMs: number): Promise<Reply>;
  /** Sends a one-way message. Resolves once the transport holds it durably (publisher confirm on AMQP). */
  publish(topic: string, msg: Envelope): Promise<void>;
  /** Finishes in-flight work and releases connections. */
  close(): Promise<void>;
}

/** One record per message, for tests and benchmarks that must see every message (in-process transport). */
export interface TraceRecord {
  readonly from: Sender;
  /** Topic of a request or cast; for a reply, the requester's "role.host". */
  readonly to: string;
  readonly toRole: Role;
  readonly method: string;
  readonly kind: MessageKind | 'reply';
  readonly at: number;
}

export type TraceHook = (r: TraceRecord) => void;

/** The role that consumes a topic. */
export function topicRole(topic: string): Role {
  return topic.startsWith('compute.') ? 'compute' : 'conductor';
}

export function computeTopic(host: string): string {
  return `compute.${host}`;
}

export const CONDUCTOR_TOPIC = 'conductor';
