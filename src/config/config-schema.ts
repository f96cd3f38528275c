/**
 * The config file of the separate processes (`baton api|conductor|compute`), as a TypeBox schema.
 * Every section and key is optional; the defaults below fill what is absent. Unknown keys are
 * refused so a typo cannot silently fall back to a default.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { FAULT_OPS } from '../compute/drivers/fake/fault-plan.js';
import { ErrorCode } from '../core/errors.js';

const closed = <T extends Record<string, TSchema>>(props: T, description: string) =>
  Type.Object(props, { additionalProperties: false, description, default: {} });
const ms = (def: number, description: string) => Type.Integer({ minimum: 1, default: def, description });
const optMs = (description: string) => Type.Optional(Type.Integer({ minimum: 1, description }));

const rate = (what: string) => Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: `probability that a sent message is ${what}` }));

/** transport.faults: the chaos run's message faults (src/rpc/transports/fault-transport.ts). Absent: none, the plain transport. */
function MessageFaultsSchema() {
  return Type.Object({
    seed: Type.Integer({ description: 'seed of this process\'s fault sequence' }),
    drop: rate('dropped (a call loses its request or its reply)'),
    duplicate: rate('sent twice'),
    delay: rate('held back up to maxDelayMs'),
    reorder: rate('swapped with the next message to its topic'),
    maxDelayMs: Type.Optional(Type.Integer({ minimum: 1, description: 'longest delay (default 2000)' })),
    methods: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'only these RPC methods' })),
  }, { additionalProperties: false, description: 'test hook for the chaos run: damage the messages this process sends' });
}

export const TransportSection = closed({
  url: Type.String({ minLength: 1, default: 'amqp://guest:guest@127.0.0.1:5672', description: 'memory:// or amqp://user:pass@host:port/vhost' }),
  exchange: Type.String({ minLength: 1, default: 'baton', description: 'AMQP topic exchange' }),
  prefetch: Type.Integer({ minimum: 1, default: 64, description: 'unacknowledged messages per consumer' }),
  heartbeatSec: Type.Integer({ minimum: 0, default: 10, description: 'AMQP heartbeat' }),
  faults: Type.Optional(MessageFaultsSchema()),
}, 'the RPC transport');

export const DatabaseSection = closed({
  url: Type.String({ minLength: 1, default: 'sqlite:./baton-data/baton.sqlite', description: 'sqlite:PATH or postgres://user:pass@host:port/db' }),
  schema: Type.Optional(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,62}$', description: 'PostgreSQL schema (created if missing)' })),
  maxConnections: Type.Integer({ minimum: 1, default: 10, description: 'PostgreSQL pool size per process' }),
  lockTimeoutMs: Type.Integer({ minimum: 0, default: 5000, description: 'PostgreSQL lock_timeout of every connection (0: wait forever)' }),
  statementTimeoutMs: Type.Integer({ minimum: 0, default: 30_000, description: 'PostgreSQL statement_timeout of every connection (0: none)' }),
  idleInTransactionTimeoutMs: Type.Integer({ minimum: 0, default: 30_000,
    description: 'PostgreSQL idle_in_transaction_session_timeout: a session frozen mid-transaction is ended and its locks freed (0: never)' }),
  keepAlive: Type.Boolean({ default: true, description: 'TCP keepalives on PostgreSQL connections, client and server side' }),
  keepAliveIdleMs: Type.Integer({ minimum: 1000, default: 10_000, description: 'idle time before the first keepalive probe' }),
}, 'the store');

export const WorkflowSection = Type.Object({
  checkTimeoutMs: optMs('deadline of each pre-check call'),
  preTimeoutMs: optMs('deadline of pre_live_migration'),
  migrateStallMs: optMs('live_migration silence before the source is asked'),
  migrateMaxWaits: Type.Optional(Type.Integer({ minimum: 1, description: '"still running" answers accepted for live_migration' })),
  postTimeoutMs: optMs('deadline of each post step'),
  rollbackTimeoutMs: optMs('deadline of each rollback step'),
  queryTimeoutMs: optMs('deadline of a step status query'),
  maxQueries: Type.Optional(Type.Integer({ minimum: 1, description: 'unanswered status queries before a step fails' })),
  maxAttempts: Type.Optional(Type.Integer({ minimum: 1, description: 'attempts of post/rollback steps and re-sends' })),
  retryBackoffMs: optMs('pause before a step is re-sent'),
  migrateMaxRetries: Type.Optional(Type.Integer({ minimum: 0, description: 'destinations tried when the scheduler picks' })),
}, { additionalProperties: false, default: {} });

const limit = (description: string) => Type.Optional(Type.Integer({ minimum: 0, description: `${description} (0: unlimited)` }));

export const LimitsSection = Type.Object({
  perHostOutbound: limit('live migrations out of one host at once, as Nova\'s max_concurrent_live_migrations (default 1)'),
  perHostInbound: limit('live migrations into one host at once (default 2)'),
  cluster: limit('live migrations in the deployment at once, as KubeVirt\'s parallelMigrationsPerCluster (default 5)'),
  hosts: Type.Optional(Type.Record(Type.String({ minLength: 1 }), Type.Object({
    outbound: limit('this host\'s own outbound limit'), inbound: limit('this host\'s own inbound limit'),
  }, { additionalProperties: false }), { description: 'per-host overrides, by host name' })),
}, { additionalProperties: false, default: {}, description: 'concurrency limits; a migration over one waits in status queued' });

export const DrainSection = Type.Object({
  attempts: Type.Optional(Type.Integer({ minimum: 1, description: 'migrations a drain starts per instance before it counts as blocked (default 2)' })),
  pollMs: optMs('a running drain is looked at again after this long even if none of its migrations ended (default 2000)'),
}, { additionalProperties: false, default: {}, description: 'server-side host drains' });

export const ConductorSection = closed({
  name: Type.Optional(Type.String({ minLength: 1, description: 'this conductor in logs and RPC envelopes (default conductor-<hostname>-<pid>)' })),
  tickMs: optMs('how often due deadlines are looked for'),
  serviceDownTimeMs: optMs('a compute silent for longer is down'),
  callTimeoutMs: optMs('deadline of plain calls (spawn, destroy)'),
  startGraceMs: optMs('a migration whose start message was lost starts after this'),
  reconcileIntervalMs: optMs('how often every compute\'s guests are compared with the store (the audit)'),
  overdueWakeupMs: optMs('the audit reports a live migration whose wake-up time passed longer ago than this'),
  staleMigrationMs: optMs('the audit reports a live migration whose record has not changed for this long'),
  workflow: WorkflowSection,
  limits: LimitsSection,
  drain: DrainSection,
}, 'the conductor');

/** compute.fake.faults[]: one FaultSpec (src/compute/drivers/fake/fault-plan.ts) per rule. */
function FaultSpecSchema() {
  return Type.Object({
    op: Type.Union(FAULT_OPS.map((op) => Type.Literal(op))),
    action: Type.Union([Type.Literal('fail'), Type.Literal('delay')]),
    times: Type.Optional(Type.Integer({ minimum: 1, description: 'how many calls; absent: every call' })),
    ms: Type.Optional(Type.Integer({ minimum: 0, description: 'delay: real milliseconds' })),
    code: Type.Optional(Type.Union(Object.values(ErrorCode).map((c) => Type.Literal(c)))),
    message: Type.Optional(Type.String({ minLength: 1 })),
    uuid: Type.Optional(Type.String({ minLength: 1, description: 'only this guest' })),
    name: Type.Optional(Type.String({ minLength: 1, description: 'only the guest of this name' })),
  }, { additionalProperties: false });
}

export const ComputeSection = closed({
  hostIp: Type.String({ minLength: 1, default: '127.0.0.1', description: 'address reported for this host' }),
  stateDir: Type.Optional(Type.String({ minLength: 1,
    description: 'root of the hosts\' state dirs: <stateDir>/<host> holds the step journal and driver state (default <tmpdir>/baton-compute)' })),
  journalTtlMs: ms(86_400_000, 'finished step journal entries older than this are pruned'),
  reportIntervalMs: ms(10_000, 'heartbeat interval'),
  progressIntervalMs: ms(1_000, 'shortest gap between two progress reports'),
  ratios: Type.Object({
    cpu: Type.Number({ exclusiveMinimum: 0, default: 16 }), ram: Type.Number({ exclusiveMinimum: 0, default: 1.5 }),
    disk: Type.Number({ exclusiveMinimum: 0, default: 1 }),
  }, { additionalProperties: false, default: {} }),
  fake: Type.Object({
    dirtyRateMibs: Type.Optional(Type.Number({ minimum: 0 })),
    bandwidthMibs: Type.Optional(Type.Number({ minimum: 0 })),
    downtimeLimitMs: Type.Optional(Type.Number({ minimum: 0 })),
    autoConverge: Type.Optional(Type.Boolean()),
    postcopyAllowed: Type.Optional(Type.Boolean()),
    maxPasses: Type.Optional(Type.Integer({ minimum: 1 })),
    completionTimeoutMs: Type.Optional(Type.Integer({ minimum: 1 })),
    timeoutAction: Type.Optional(Type.Union([Type.Literal('abort'), Type.Literal('force_complete')])),
    realTime: Type.Optional(Type.Boolean({ description: 'copies take wall-clock time at bandwidthMibs (default: simulated time, instant)' })),
    faults: Type.Optional(Type.Array(FaultSpecSchema(), { description: 'test hook: make operations fail or take longer' })),
  }, { additionalProperties: false, default: {}, description: 'fake driver migration policy' }),
  qemu: Type.Record(Type.String(), Type.Unknown(), { default: {},
    description: 'qemu driver options (docs/qemu.md), checked by the driver: unknown keys are refused' }),
}, 'compute hosts');

const AuthUser = Type.Object({
  name: Type.String({ minLength: 1 }),
  password: Type.String({ minLength: 1 }),
  project: Type.String({ minLength: 1 }),
  roles: Type.Array(Type.Union([Type.Literal('admin'), Type.Literal('member')])),
}, { additionalProperties: false });

export const ApiSection = closed({
  host: Type.String({ minLength: 1, default: '127.0.0.1', description: 'listen address' }),
  port: Type.Integer({ minimum: 0, maximum: 65_535, default: 8774, description: 'listen port (0: any free port)' }),
  auth: Type.Optional(Type.Object({
    users: Type.Array(AuthUser, { minItems: 1 }),
    tokenTtlSeconds: Type.Integer({ minimum: 1, default: 3600 }),
    tokenSecret: Type.Union([Type.String({ minLength: 16 }), Type.Null()], { default: null }),
  }, { additionalProperties: false, description: 'users, roles and token settings (AuthConfig)' })),
  policy: Type.Record(Type.String({ minLength: 1 }), Type.String(), { default: {}, description: 'policy rule overrides by Nova rule name' }),
}, 'the HTTP API');

export const BatonConfigSchema = Type.Object({
  transport: TransportSection,
  database: DatabaseSection,
  conductor: ConductorSection,
  compute: ComputeSection,
  api: ApiSection,
}, { additionalProperties: false });

export type BatonConfig = Static<typeof BatonConfigSchema>;
