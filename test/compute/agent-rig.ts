/**
 * A compute agent under test on the in-process transport, with a stand-in conductor that records every
 * cast the agent sends, and fake hypervisors for a source (a) and a destination (b) sharing one fabric.
 * Agents are started and "killed" here: a killed agent stops serving and its work in progress never ends,
 * as if its process died, while its journal file and driver registry stay on disk for the next one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ComputeAgent } from '../../src/compute/compute-agent.js';
import type { GuestSpec } from '../../src/compute/driver-port.js';
import { FakeDriver } from '../../src/compute/drivers/fake/fake-driver.js';
import { InMemoryFabric } from '../../src/compute/drivers/fake/fake-fabric.js';
import { openSqliteStepJournal } from '../../src/compute/sqlite-step-journal.js';
import type { StepJournal } from '../../src/compute/step-journal.js';
import type { Clock } from '../../src/core/ports.js';
import type { Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { StepResultArgs } from '../../src/rpc/conductor-api.js';
import { RpcClient } from '../../src/rpc/rpc-client.js';
import { CONDUCTOR_TOPIC, computeTopic, type Envelope } from '../../src/rpc/transport.js';
import { InProcessBus } from '../../src/rpc/transports/in-process-transport.js';
import type { StepStatusReply } from '../../src/rpc/compute-api.js';
import { waitFor } from '../../src/services/cluster-ops.js';
import { SimClock } from '../../src/runtime/sim-clock.js';

export const SPEC: GuestSpec = { uuid: 'g-1', name: 'g-1', vcpus: 1, memoryMb: 64, diskGb: 0, imageRef: 'cirros' };
export const INSTANCE = { uuid: SPEC.uuid, name: SPEC.name, flavor: { id: '1', name: 'tiny', vcpus: 1, memoryMb: 64, diskGb: 0 }, imageRef: 'cirros' };

export type StepResult = Static<typeof StepResultArgs>;
const isStepResult = TypeCompiler.Compile(StepResultArgs);

export interface Rig {
  readonly dir: string;
  readonly rpc: RpcClient;
  readonly fabric: InMemoryFabric;
  /** The destination's hypervisor (no agent: the tests prepare it directly). */
  readonly b: FakeDriver;
  /** Starts host a's agent on the journal file and registry in `dir` (or on the given journal). */
  startA(o?: { clock?: Clock; journal?: StepJournal; reportIntervalMs?: number; journalTtlMs?: number }): Promise<{ agent: ComputeAgent; driver: FakeDriver; journal: StepJournal }>;
  /** Host a's process dies: nothing answers on compute.a any more, its work in progress never finishes. */
  kill(agent: ComputeAgent): void;
  call<T>(method: string, args: Record<string, unknown>, timeoutMs?: number): Promise<T>;
  lcall(method: string, args: Record<string, unknown>): Promise<void>;
  cast(method: string, args: Record<string, unknown>): Promise<void>;
  status(migrationId: number, step: string, attempt: number): Promise<StepStatusReply>;
  /** step_result casts received so far, optionally for one migration. */
  results(migrationId?: number): StepResult[];
  waitResult(migrationId: number, step: string, attempt: number): Promise<StepResult>;
  close(): Promise<void>;
}

export async function startRig(): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), 'baton-agent-'));
  const bus = new InProcessBus();
  const received: Envelope[] = [];
  await bus.transport().serve(CONDUCTOR_TOPIC, async (m) => { received.push(m); return { ok: true, result: null }; });
  const fabric = new InMemoryFabric();
  const b = new FakeDriver({ host: 'b', clock: new SimClock(), fabric });
  const rpc = new RpcClient(bus.transport(), { role: 'conductor', host: 'test' });
  const live: { agent: ComputeAgent; journal: StepJournal }[] = [];
  const results = (id?: number): StepResult[] => received.filter((m) => m.method === 'step_result')
    .flatMap((m) => (isStepResult.Check(m.args) ? [m.args] : [])).filter((r) => id === undefined || r.migrationId === id);
  return {
    dir, rpc, fabric, b,
    async startA(o = {}) {
      const clock = o.clock ?? new SimClock();
      const driver = new FakeDriver({ host: 'a', clock, fabric, statePath: join(dir, 'fake-a.json') });
      const journal = o.journal ?? openSqliteStepJournal(join(dir, 'journal-a.sqlite'));
      const agent = new ComputeAgent({ host: 'a', hostIp: '127.0.0.1', driver, transport: bus.transport(), clock, journal,
        ...(o.journalTtlMs !== undefined ? { journalTtlMs: o.journalTtlMs } : {}),
        ratios: { cpu: 1, ram: 1, disk: 1 }, reportIntervalMs: o.reportIntervalMs ?? 60_000, progressIntervalMs: 1_000 });
      await agent.start();
      live.push({ agent, journal });
      return { agent, driver, journal };
    },
    kill(agent) {
      // stop() closes the subscription at once; its drain waits on work that, held, never ends.
      void agent.stop();
    },
    call: (method, args, timeoutMs = 5_000) => rpc.call(computeTopic('a'), method, args, { version: '1.0', timeoutMs }),
    lcall: (method, args) => rpc.lcall(computeTopic('a'), method, args, { version: '1.0', timeoutMs: 5_000 }),
    cast: (method, args) => rpc.cast(computeTopic('a'), method, args, { version: '1.0' }),
    status: (migrationId, step, attempt) => rpc.call<StepStatusReply>(computeTopic('a'), 'get_step_status', { migrationId, step, attempt },
      { version: '1.0', timeoutMs: 5_000 }),
    results,
    waitResult: (migrationId, step, attempt) => waitFor(`step_result ${step} ${migrationId}/${attempt}`,
      async () => results(migrationId).find((r) => r.step === step && r.attempt === attempt)),
    async close() {
      for (const l of live) {
        await Promise.race([l.agent.stop(), new Promise((r) => setTimeout(r, 200))]);
        l.journal.close();
      }
      await b.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The arguments the conductor sends for live_migration of SPEC from a to b. */
export function migrateArgs(migrationId: number, uri: string, attempt = 1): Record<string, unknown> {
  return { migrationId, attempt, instance: INSTANCE, dest: { host: 'b' }, migrateData: { uri } };
}

export function stepArgs(migrationId: number, attempt = 1): Record<string, unknown> {
  return { migrationId, attempt, instance: INSTANCE };
}
