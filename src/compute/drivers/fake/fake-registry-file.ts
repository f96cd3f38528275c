/**
 * Keeps a fake hypervisor's guest list in a JSON file, so that `baton up` restarted on its data dir
 * finds the guests its store says are there. Guests caught mid-migration come back as the hypervisor
 * would leave them after a crash: the source still running, the half-received copy gone.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { GuestSpec, GuestState } from '../../driver-port.js';

export interface SavedGuest {
  readonly spec: GuestSpec;
  readonly state: GuestState;
}

export function loadRegistry(path: string): SavedGuest[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  const saved = JSON.parse(text) as SavedGuest[];
  return saved.flatMap((g): SavedGuest[] => {
    if (g.state === 'incoming' || g.state === 'postmigrate') return [];
    return [{ spec: g.spec, state: g.state === 'migrating' ? 'running' : g.state }];
  });
}

export function saveRegistry(path: string, guests: readonly SavedGuest[]): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, JSON.stringify(guests));
  renameSync(tmp, path);
}
