/**
 * One guest on this host: its QEMU process, its files under <stateDir>/instances/<uuid>/, and the run
 * state QEMU reports. Paths are derived from the validated uuid only, so they cannot leave the state dir.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, sep } from 'node:path';
import type { GuestSpec, IncomingInfo, MigrateResult } from '../../driver-port.js';
import { buildQemuArgs, checkUuid } from './qemu-args.js';
import { Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { GuestSpecSchema } from '../../../rpc/rpc-schemas.js';
import { readIncomingMarker } from './migration-markers.js';
import { QemuProcess } from './qemu-process.js';
import type { QueryMigrate } from './query-migrate.js';
import type { GuestWorkload, ResolvedQemuConfig } from './qemu-config.js';

/** Pages at 4 MiB and above are the guest's dirty region; the kernel itself lives at 1 MiB. */
const DIRTY_BASE_MIB = 4;
const GUEST_HZ = 100;
const COUNTER_LINES_PER_S = 10;

export interface InstancePaths {
  readonly dir: string;
  readonly qmpSocket: string;
  /** A second QMP monitor for observers (operators' tools, tests): reading state there never takes the agent's monitor. */
  readonly observeSocket: string;
  readonly serialLog: string;
  readonly pidFile: string;
  readonly stderrLog: string;
  readonly record: string;
  /** migration-markers.ts: which outgoing migration QEMU's migrate status belongs to. */
  readonly outgoingMarker: string;
  /** migration-markers.ts: the incoming migration a destination QEMU waits for. */
  readonly incomingMarker: string;
}

export function instancePaths(stateDir: string, uuid: string): InstancePaths {
  const dir = join(stateDir, 'instances', checkUuid(uuid));
  if (!dir.startsWith(stateDir + sep)) throw new Error(`instance dir escapes the state dir: ${dir}`);
  return { dir, qmpSocket: join(dir, 'qmp.sock'), observeSocket: join(dir, 'observe.sock'), serialLog: join(dir, 'serial.log'), pidFile: join(dir, 'qemu.pid'),
    stderrLog: join(dir, 'stderr.log'), record: join(dir, 'instance.json'), outgoingMarker: join(dir, 'outgoing.json'),
    incomingMarker: join(dir, 'incoming.json') };
}

/** The guest's multiboot command line: d=<region pages> p=<pages per tick> t=<ticks per line> h=<Hz>. */
export function guestCommandLine(w: GuestWorkload): string {
  const regionPages = Math.round(w.dirtyMib * 256);
  const perTick = regionPages === 0 ? 0 : Math.max(1, Math.round((w.dirtyRateMibps * 256) / GUEST_HZ));
  return `d=${regionPages} p=${perTick} t=${GUEST_HZ / COUNTER_LINES_PER_S} h=${GUEST_HZ}`;
}

export function workloadFor(cfg: ResolvedQemuConfig, imageRef: string): GuestWorkload {
  return cfg.images[imageRef] ?? cfg.images.default ?? { dirtyMib: 0, dirtyRateMibps: 0 };
}

export interface OutgoingRecord {
  readonly migrationId: number;
  promise: Promise<MigrateResult>;
  settled: boolean;
  abortRequested: boolean;
  forceRequested: boolean;
  cancel: (() => Promise<void>) | null;
  force: (() => Promise<void>) | null;
}

/** instance.json, written at start and read back by a restarted agent. */
const RecordSchema = Type.Object({ spec: GuestSpecSchema, machine: Type.String(), incoming: Type.Boolean() });
const checkRecord = TypeCompiler.Compile(RecordSchema);

export class QemuInstance {
  readonly spec: GuestSpec;
  readonly paths: InstancePaths;
  readonly proc: QemuProcess;
  /** QEMU was started with `-incoming`: a `completed` migrate status may be about the stream that brought the guest here. */
  readonly startedIncoming: boolean;
  /** Set while this host is the destination of a migration that has not finished here yet. */
  incoming: { readonly migrationId: number; readonly info: IncomingInfo } | null;
  /** The outgoing migration this agent follows (null after a restart until migrate() runs again). */
  outgoing: OutgoingRecord | null = null;
  /** Post-copy started: the source's RAM is no longer a complete copy of the guest. */
  postcopyStarted = false;

  private constructor(spec: GuestSpec, paths: InstancePaths, proc: QemuProcess, startedIncoming: boolean, incoming: QemuInstance['incoming']) {
    this.spec = spec;
    this.paths = paths;
    this.proc = proc;
    this.startedIncoming = startedIncoming;
    this.incoming = incoming;
  }

  /** Starts QEMU for the guest: running, or (incoming) paused with `-incoming defer`. */
  static async start(cfg: ResolvedQemuConfig, spec: GuestSpec, machine: string, incoming: boolean): Promise<QemuInstance> {
    const paths = instancePaths(cfg.stateDir, spec.uuid);
    const workload = workloadFor(cfg, spec.imageRef);
    if (workload.dirtyMib + DIRTY_BASE_MIB + 1 > spec.memoryMb) {
      throw new Error(`guest needs more than ${workload.dirtyMib + DIRTY_BASE_MIB} MiB for its dirty region`);
    }
    await rm(paths.dir, { recursive: true, force: true });
    await mkdir(paths.dir, { recursive: true, mode: 0o700 });
    await writeFile(paths.record, JSON.stringify({ spec, machine, incoming }, null, 2));
    const args = buildQemuArgs({
      uuid: spec.uuid, name: safeName(spec), vcpus: spec.vcpus, memoryMb: spec.memoryMb, machine,
      cpuModel: cfg.cpuModel, accel: cfg.accel, kernel: cfg.guestKernel, append: guestCommandLine(workload),
      qmpSocket: paths.qmpSocket, observeSocket: paths.observeSocket, serialLog: paths.serialLog, pidFile: paths.pidFile, incoming,
    });
    try {
      const proc = await QemuProcess.start({ binary: cfg.binary, args, qmpSocket: paths.qmpSocket, startTimeoutMs: cfg.startTimeoutMs,
        stderrPath: paths.stderrLog });
      return new QemuInstance(spec, paths, proc, incoming, null);
    } catch (err) {
      await rm(paths.dir, { recursive: true, force: true });
      throw err;
    }
  }

  /**
   * Takes over a guest a previous agent left running: its record, its pid (checked to be this guest's QEMU,
   * not a reused pid) and its QMP socket. Throws when there is no live QEMU for it.
   */
  static async adopt(cfg: ResolvedQemuConfig, uuid: string): Promise<QemuInstance> {
    const paths = instancePaths(cfg.stateDir, uuid);
    const record: unknown = JSON.parse(await readFile(paths.record, 'utf8'));
    if (!checkRecord.Check(record) || record.spec.uuid !== uuid) throw new Error(`instance record ${paths.record} is malformed`);
    const pid = Number((await readFile(paths.pidFile, 'utf8')).trim());
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (!Number.isInteger(pid) || !cmdline.split('\0').includes(uuid)) throw new Error(`no QEMU of ${uuid} runs (pid ${pid})`);
    const proc = await QemuProcess.attach(pid, paths.qmpSocket, paths.stderrLog, cfg.startTimeoutMs);
    const incoming = await readIncomingMarker(paths.incomingMarker);
    return new QemuInstance(record.spec, paths, proc, record.incoming, incoming);
  }

  /** QEMU's run state (query-status), or 'gone' when the process has exited. */
  async runState(): Promise<string> {
    if (!this.proc.alive) return 'gone';
    try {
      const s = await this.proc.qmp.execute<{ status: string }>('query-status');
      return s.status;
    } catch {
      return this.proc.alive ? 'unknown' : 'gone';
    }
  }

  /** QEMU's migration info (query-migrate), or null when the process has exited or does not answer. */
  async migrateInfo(): Promise<QueryMigrate | null> {
    if (!this.proc.alive) return null;
    return this.proc.qmp.execute<QueryMigrate>('query-migrate').catch(() => null);
  }

  /** Stops QEMU (quit, then SIGKILL) and removes the instance's files. Safe to call twice. */
  async remove(): Promise<void> {
    await this.proc.stop();
    await rm(this.paths.dir, { recursive: true, force: true });
  }
}

function safeName(spec: GuestSpec): string {
  const name = spec.name.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 63);
  return name.length > 0 ? name : `instance-${spec.uuid}`;
}
