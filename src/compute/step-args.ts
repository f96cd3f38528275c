/**
 * What each migration step request carries to the compute, as schemas checked on arrival (the RPC server)
 * and again when a journaled request is read back after a restart. Fields the compute does not use may be
 * present and are kept.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { BatonError } from '../core/errors.js';
import { Step } from '../core/migration-steps.js';
import { stepArgs } from '../rpc/rpc-schemas.js';

const CpuOfSource = Type.Object({ cpuModel: Type.String(), cpuFeatures: Type.Array(Type.String()) });

export const PlainStepArgs = stepArgs({});
export const CheckDestArgs = stepArgs({ source: CpuOfSource });
export const MigrateArgs = stepArgs({
  dest: Type.Object({ host: Type.String({ minLength: 1 }) }),
  // The destination's prepare step result: where to send the stream, plus what the source must match.
  migrateData: Type.Object({ uri: Type.String({ minLength: 1 }) }),
});

export type PlainStepArgs = Static<typeof PlainStepArgs>;
export type CheckDestArgs = Static<typeof CheckDestArgs>;
export type MigrateArgs = Static<typeof MigrateArgs>;

type OtherStep = Exclude<Step, typeof Step.CHECK_DEST | typeof Step.MIGRATE>;

/** A checked step request: the step names which arguments it carries. */
export type StepRequest =
  | { readonly step: typeof Step.CHECK_DEST; readonly args: CheckDestArgs }
  | { readonly step: typeof Step.MIGRATE; readonly args: MigrateArgs }
  | { readonly step: OtherStep; readonly args: PlainStepArgs };

export function stepArgsSchema(step: Step): TSchema {
  if (step === Step.CHECK_DEST) return CheckDestArgs;
  if (step === Step.MIGRATE) return MigrateArgs;
  return PlainStepArgs;
}

const checkDest: TypeCheck<typeof CheckDestArgs> = TypeCompiler.Compile(CheckDestArgs);
const migrate: TypeCheck<typeof MigrateArgs> = TypeCompiler.Compile(MigrateArgs);
const plain: TypeCheck<typeof PlainStepArgs> = TypeCompiler.Compile(PlainStepArgs);

/** Checks `args` against the step's schema; throws InvalidRequest naming the first bad field. */
export function toStepRequest(step: Step, args: unknown): StepRequest {
  if (step === Step.CHECK_DEST) return { step, args: checked(checkDest, step, args) };
  if (step === Step.MIGRATE) return { step, args: checked(migrate, step, args) };
  return { step, args: checked(plain, step, args) };
}

function checked<S extends TSchema>(check: TypeCheck<S>, step: Step, args: unknown): Static<S> {
  if (check.Check(args)) return args;
  const first = check.Errors(args).First();
  throw new BatonError('InvalidRequest', `${step}: invalid argument ${first?.path || '/'}: ${first?.message ?? 'does not match the schema'}`,
    { step });
}
