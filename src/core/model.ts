/** Domain entities shared by every role. Plain data: no behaviour, no I/O. */

export const VmState = { ACTIVE: 'active', PAUSED: 'paused', BUILDING: 'building', ERROR: 'error', DELETED: 'deleted' } as const;
export type VmState = (typeof VmState)[keyof typeof VmState];

export const TaskState = { MIGRATING: 'migrating', SPAWNING: 'spawning', DELETING: 'deleting' } as const;
export type TaskState = (typeof TaskState)[keyof typeof TaskState];

export const PowerState = { NOSTATE: 0, RUNNING: 1, PAUSED: 3, SHUTDOWN: 4 } as const;
export type PowerState = (typeof PowerState)[keyof typeof PowerState];

export interface AllocationRatios {
  readonly cpu: number;
  readonly ram: number;
  readonly disk: number;
}

/** A compute service and the hypervisor it manages (Nova keeps these apart; one host runs one node here). */
export interface ComputeHost {
  readonly host: string;
  readonly hypervisorId: string;
  readonly hypervisorType: string;
  /** Encoded like Nova: major*1_000_000 + minor*1_000 + micro. */
  readonly hypervisorVersion: number;
  readonly cpuModel: string;
  readonly cpuFeatures: readonly string[];
  readonly vcpus: number;
  readonly memoryMb: number;
  readonly diskGb: number;
  readonly ratios: AllocationRatios;
  /** Highest compute RPC API version the service understands, as "major.minor". */
  readonly rpcVersion: string;
  /** Milliseconds since the epoch of the last state report. */
  readonly lastHeartbeat: number;
  readonly disabled: boolean;
  readonly disabledReason: string | null;
  readonly hostIp: string;
  readonly startedAt: number;
}

export interface Flavor {
  readonly id: string;
  readonly name: string;
  readonly vcpus: number;
  readonly memoryMb: number;
  readonly diskGb: number;
}

export interface Instance {
  readonly uuid: string;
  readonly name: string;
  readonly host: string | null;
  readonly vmState: VmState;
  readonly taskState: TaskState | null;
  readonly powerState: PowerState;
  readonly flavorId: string;
  readonly imageRef: string;
  readonly projectId: string;
  readonly userId: string;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** Resources reserved on a destination while a migration is in flight. */
export interface Claim {
  readonly migrationId: number;
  readonly host: string;
  readonly instanceUuid: string;
  readonly vcpus: number;
  readonly memoryMb: number;
  readonly diskGb: number;
}

/** Used resources on one host: its instances plus claims held for incoming migrations. */
export interface HostUsage {
  readonly vcpus: number;
  readonly memoryMb: number;
  readonly diskGb: number;
  readonly instances: number;
}

export const ZERO_USAGE: HostUsage = { vcpus: 0, memoryMb: 0, diskGb: 0, instances: 0 };

/** The part of a host that a peer compute needs during a migration. */
export function describeHost(h: ComputeHost): {
  host: string; hostIp: string; hypervisorType: string; hypervisorVersion: number; cpuModel: string; cpuFeatures: string[]; rpcVersion: string;
} {
  return { host: h.host, hostIp: h.hostIp, hypervisorType: h.hypervisorType, hypervisorVersion: h.hypervisorVersion,
    cpuModel: h.cpuModel, cpuFeatures: [...h.cpuFeatures], rpcVersion: h.rpcVersion };
}
