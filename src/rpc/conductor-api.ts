/** The conductor RPC API: what the API and the computes send to the conductor. */
import { Type } from '@sinclair/typebox';
import { ErrorBodySchema } from './rpc-schemas.js';

export const CONDUCTOR_RPC_VERSION = '1.0';

export const ConductorMethod = {
  LIVE_MIGRATE: 'live_migrate',
  ABORT: 'abort_migration',
  FORCE_COMPLETE: 'force_complete_migration',
  STEP_RESULT: 'step_result',
  PROGRESS: 'migration_progress',
  SERVICE_REPORT: 'service_report',
  BUILD_INSTANCE: 'build_instance',
  DELETE_INSTANCE: 'delete_instance',
  /** Call from the API: run a reconcile/audit pass now and return its report. */
  RUN_AUDIT: 'run_audit',
} as const;

export const MigrationIdArgs = Type.Object({ migrationId: Type.Integer({ minimum: 1 }) });
export const InstanceIdArgs = Type.Object({ instanceUuid: Type.String({ minLength: 1 }) });

export const StepResultArgs = Type.Object({
  migrationId: Type.Integer({ minimum: 1 }), step: Type.String(), attempt: Type.Integer({ minimum: 1 }),
  ok: Type.Boolean(), result: Type.Optional(Type.Record(Type.String(), Type.Unknown())), error: Type.Optional(ErrorBodySchema),
});

const num = Type.Number({ minimum: 0 });
export const ProgressArgs = Type.Object({
  migrationId: Type.Integer({ minimum: 1 }), attempt: Type.Integer({ minimum: 1 }),
  progress: Type.Object({
    memoryTotal: num, memoryProcessed: num, memoryRemaining: num, diskTotal: num, diskProcessed: num, diskRemaining: num,
    postcopy: Type.Optional(Type.Boolean()), dirtyRateMbps: Type.Optional(num), expectedDowntimeMs: Type.Optional(num),
    iteration: Type.Optional(num),
  }),
});

export const ServiceReportArgs = Type.Object({
  host: Type.String({ minLength: 1 }), hostIp: Type.String(), rpcVersion: Type.String({ pattern: '^\\d+\\.\\d+$' }),
  startedAt: Type.Integer(),
  resources: Type.Object({
    hypervisorType: Type.String(), hypervisorVersion: Type.Integer(), cpuModel: Type.String(),
    cpuFeatures: Type.Array(Type.String()), vcpus: Type.Integer({ minimum: 0 }), memoryMb: Type.Integer({ minimum: 0 }),
    diskGb: Type.Integer({ minimum: 0 }),
  }),
  ratios: Type.Object({ cpu: Type.Number({ exclusiveMinimum: 0 }), ram: Type.Number({ exclusiveMinimum: 0 }), disk: Type.Number({ exclusiveMinimum: 0 }) }),
});
