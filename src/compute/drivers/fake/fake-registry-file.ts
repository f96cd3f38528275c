/**
 * Keeps a fake hypervisor's guest list in a JSON file, so that a restarted agent (even after SIGKILL) finds
 * the guests its host runs. A copy cannot outlive the process that ran it, so the file is read back as a
 * hypervisor would stand after a crash: a guest that was streaming out runs on the source again, a
 * half-received incoming guest is gone, and a source that already handed its guest over stays stopped
 * (postmigrate) until its post step removes it.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { GuestSpecSchema } from '../../../rpc/rpc-schemas.js';
import { GuestState } from '../../driver-port.js';

const MigratedSchema = Type.Object({
  migrationId: Type.Integer({ minimum: 1 }),
  result: Type.Object({ downtimeMs: Type.Number(), totalTimeMs: Type.Number(), postcopy: Type.Boolean() }),
});

const SavedGuestSchema = Type.Object({
  spec: GuestSpecSchema,
  state: Type.Union(Object.values(GuestState).map((s) => Type.Literal(s))),
  migrated: Type.Optional(MigratedSchema),
});

const RegistrySchema = Type.Array(SavedGuestSchema);
const checkRegistry = TypeCompiler.Compile(RegistrySchema);

export type MigratedRecord = Static<typeof MigratedSchema>;
export type SavedGuest = Static<typeof SavedGuestSchema>;

export function loadRegistry(path: string): SavedGuest[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  const saved: unknown = JSON.parse(text);
  if (!checkRegistry.Check(saved)) {
    const first = checkRegistry.Errors(saved).First();
    throw new Error(`fake driver registry ${path} is malformed at ${first?.path ?? '/'}: ${first?.message ?? 'unexpected shape'}`);
  }
  return saved.flatMap((g): SavedGuest[] => {
    if (g.state === GuestState.INCOMING) return [];
    return [g.state === GuestState.MIGRATING ? { spec: g.spec, state: GuestState.RUNNING } : g];
  });
}

export function saveRegistry(path: string, guests: readonly SavedGuest[]): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, JSON.stringify(guests));
  renameSync(tmp, path);
}
