/**
 * The bad-input stage: publishes, straight to the broker, messages no Baton process would send to every
 * queue of a deployment: malformed (not JSON, not an Envelope), oversized, of a version nobody speaks,
 * and forged (an unknown method, the wrong message kind, a step result for a migration that does not exist
 * or in the name of a host the step was not sent to). Each must end in the deployment's dead-letter queue
 * with its reason; none may be requeued; every consumer must keep serving.
 */
import { connect } from 'amqplib';
import { CONDUCTOR_TOPIC, computeTopic, type Envelope } from '../src/rpc/transport.js';

export interface BadInputTarget {
  readonly url: string;
  readonly exchange: string;
  readonly hosts: readonly string[];
  /** A migration and one of its steps, for a step result in another host's name; none: only unknown migrations. */
  readonly forgeStepOf?: { readonly migrationId: number; readonly step: string; readonly attempt: number };
}

export interface BadInputResult {
  /** Messages published, by queue. */
  readonly published: Record<string, number>;
  readonly total: number;
}

const env = (method: string, args: Record<string, unknown>, o: Partial<Envelope> = {}): Buffer => Buffer.from(JSON.stringify({
  v: '1.0', id: `bad-${method}-${Math.random().toString(36).slice(2)}`, method, kind: 'cast', from: { role: 'compute', host: 'intruder' }, args, ...o,
}));

function badMessages(topic: string, t: BadInputTarget): Buffer[] {
  const common = [
    Buffer.from('{not json'),
    Buffer.from(JSON.stringify([1, 2, 3])),
    Buffer.from(JSON.stringify({ v: '1.0', method: 'x' })),
    Buffer.alloc(2 * 1024 * 1024, 0x7b),
    env('live_migrate', { migrationId: 1 }, { v: '99.0' }),
    env('format_every_disk', {}),
  ];
  // list_guests and run_audit are calls: sent as casts, they are the wrong kind.
  if (topic !== CONDUCTOR_TOPIC) return [...common, env('list_guests', {}), env('pre_live_migration', { migrationId: 1 }, { kind: 'lcall' })];
  const forged = [env('step_result', { migrationId: 987_654_321, step: 'live_migration', attempt: 1, ok: true })];
  if (t.forgeStepOf) {
    forged.push(env('step_result', { ...t.forgeStepOf, ok: true }, { from: { role: 'compute', host: 'intruder-host' } }));
  }
  return [...common, env('run_audit', {}), env('live_migrate', { migrationId: 'all' }), ...forged];
}

/** Publishes the bad messages to the conductors' queue and every compute's, through the exchange as any client could. */
export async function publishBadInput(t: BadInputTarget): Promise<BadInputResult> {
  const c = await connect(t.url);
  const published: Record<string, number> = {};
  try {
    const ch = await c.createConfirmChannel();
    for (const topic of [CONDUCTOR_TOPIC, ...t.hosts.map(computeTopic)]) {
      const list = badMessages(topic, t);
      for (const body of list) ch.publish(t.exchange, topic, body, { persistent: true });
      published[topic] = list.length;
    }
    await ch.waitForConfirms();
  } finally {
    await c.close();
  }
  return { published, total: Object.values(published).reduce((a, b) => a + b, 0) };
}

/** The dead-letter queue's messages, read off it (reason and topic of each). */
export async function drainDeadLetters(url: string, exchange: string): Promise<{ topic: string; reason: string }[]> {
  const c = await connect(url);
  const out: { topic: string; reason: string }[] = [];
  try {
    const ch = await c.createChannel();
    await ch.checkQueue(`${exchange}.dead-letter`);
    for (;;) {
      const m = await ch.get(`${exchange}.dead-letter`, { noAck: true });
      if (!m) break;
      out.push({ topic: String(m.properties.headers?.['x-baton-topic']), reason: String(m.properties.headers?.['x-baton-reason']) });
    }
  } finally {
    await c.close().catch(() => undefined);
  }
  return out;
}
