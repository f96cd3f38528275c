/** The arguments of each step's RPC, built from the workflow state alone. */
import type { WorkflowState } from './migration-state.js';
import { Step } from './migration-steps.js';

export function argsFor(step: Step, s: WorkflowState): Record<string, unknown> {
  const instance = s.instance;
  const dest = s.dest;
  switch (step) {
    case Step.CHECK_DEST:
      return { instance, source: s.source, blockMigration: s.blockMigration };
    case Step.CHECK_SOURCE:
      return { instance, dest, blockMigration: s.blockMigration };
    case Step.PRE:
      return { instance, source: s.source,
        destCheck: s.steps[Step.CHECK_DEST]?.result ?? {}, sourceCheck: s.steps[Step.CHECK_SOURCE]?.result ?? {} };
    case Step.MIGRATE:
      return { instance, dest, migrateData: s.steps[Step.PRE]?.result ?? {} };
    case Step.POST_SOURCE:
      return { instance, dest };
    case Step.POST_DEST:
      return { instance, source: s.source };
    case Step.ROLLBACK_SOURCE:
      return { instance, dest };
    case Step.ROLLBACK_DEST:
      return { instance, source: s.source };
    case Step.ABORT:
    case Step.FORCE_COMPLETE:
      return { instance };
  }
}

/** Which host a step runs on. */
export function hostFor(step: Step, s: WorkflowState): string {
  switch (step) {
    case Step.CHECK_DEST:
    case Step.PRE:
    case Step.POST_DEST:
    case Step.ROLLBACK_DEST:
      return s.dest!.host;
    default:
      return s.source.host;
  }
}
