/**
 * What the agent writes next to a guest's QEMU about its migrations, so that a restarted agent can read
 * QEMU's own facts correctly. QEMU answers `query-migrate` with one status for both directions: on a guest
 * that arrived here by migration it says `completed` about the incoming stream. The outgoing marker tells
 * which migration the outgoing status belongs to, and whether `migrate` was issued at all; the incoming
 * marker keeps the address a destination QEMU listens on, so prepare can answer again after a restart.
 * Files are written atomically (temp file, rename) and checked when read back.
 */
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';

const OutgoingMarkerSchema = Type.Object({
  migrationId: Type.Integer({ minimum: 1 }),
  uri: Type.String(),
  /** postcopy-ram was enabled on both ends. */
  postcopy: Type.Boolean(),
  /** `migrate` was sent to QEMU: from here on, query-migrate's status is this migration's. */
  issued: Type.Boolean(),
});

const IncomingMarkerSchema = Type.Object({
  migrationId: Type.Integer({ minimum: 1 }),
  info: Type.Object({ uri: Type.String({ minLength: 1 }) }),
});

export type OutgoingMarker = Static<typeof OutgoingMarkerSchema>;
export type IncomingMarker = Static<typeof IncomingMarkerSchema>;

const checkOutgoing = TypeCompiler.Compile(OutgoingMarkerSchema);
const checkIncoming = TypeCompiler.Compile(IncomingMarkerSchema);

export async function writeMarker(path: string, marker: OutgoingMarker | IncomingMarker): Promise<void> {
  const tmp = `${path}.tmp`;
  await writeFile(tmp, JSON.stringify(marker), { mode: 0o600 });
  await rename(tmp, path);
}

export async function removeMarker(path: string): Promise<void> {
  await rm(path, { force: true });
}

export function readOutgoingMarker(path: string): Promise<OutgoingMarker | null> {
  return readMarker(path, checkOutgoing);
}

export function readIncomingMarker(path: string): Promise<IncomingMarker | null> {
  return readMarker(path, checkIncoming);
}

/** Null when there is no marker; a marker that is not what this code writes is an error naming the file. */
async function readMarker<S extends TSchema>(path: string, check: ReturnType<typeof TypeCompiler.Compile<S>>): Promise<Static<S> | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return null;
  }
  const v: unknown = JSON.parse(text);
  if (!check.Check(v)) throw new Error(`migration marker ${path} is malformed: ${check.Errors(v).First()?.message ?? 'unexpected shape'}`);
  return v;
}
