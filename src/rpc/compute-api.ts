/** The compute RPC API: method names, kinds and the version that introduced them. */
import { Type } from '@sinclair/typebox';
import { Step } from '../core/migration-steps.js';

/** Highest compute API version this code speaks. */
export const COMPUTE_RPC_VERSION = '1.0';

export const ComputeMethod = {
  ...Step,
  GET_STEP_STATUS: 'get_step_status',
  SPAWN: 'spawn_instance',
  DESTROY: 'destroy_instance',
  LIST_GUESTS: 'list_guests',
  /** Cast by the conductor once a migration is terminal: the compute may prune its journal entries for it. */
  FORGET_MIGRATION: 'forget_migration',
} as const;

export const StepStatusArgs = Type.Object({
  migrationId: Type.Integer({ minimum: 1 }), step: Type.String(), attempt: Type.Integer({ minimum: 1 }),
});

export interface StepStatusReply {
  readonly state: 'unknown' | 'running' | 'done' | 'failed';
  readonly attempt?: number;
  readonly result?: Record<string, unknown>;
  readonly error?: { code: string; message: string };
}
