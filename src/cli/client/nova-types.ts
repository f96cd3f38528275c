/**
 * The parts of Nova's (and Baton's journal) JSON the client reads. Everything else passes through
 * untouched to --json output, so these types are deliberately partial.
 */
export interface NovaServer {
  readonly id: string;
  readonly name: string;
  readonly status?: string;
  readonly 'OS-EXT-SRV-ATTR:host'?: string | null;
  readonly 'OS-EXT-STS:task_state'?: string | null;
  readonly 'OS-EXT-STS:vm_state'?: string | null;
  readonly flavor?: { readonly id?: string; readonly original_name?: string };
  readonly fault?: { readonly message?: string };
  readonly [key: string]: unknown;
}

export interface NovaFlavor {
  readonly id: string;
  readonly name: string;
  readonly vcpus?: number;
  readonly ram?: number;
  readonly disk?: number;
}

export interface NovaMigration {
  readonly id: number;
  readonly uuid?: string;
  /** /os-migrations calls it instance_uuid, /servers/{id}/migrations server_uuid. */
  readonly instance_uuid?: string;
  readonly server_uuid?: string;
  readonly source_compute?: string | null;
  readonly dest_compute?: string | null;
  readonly status: string;
  readonly migration_type?: string;
  readonly memory_total_bytes?: number | null;
  readonly memory_processed_bytes?: number | null;
  readonly memory_remaining_bytes?: number | null;
  readonly created_at?: string;
  readonly updated_at?: string;
  readonly [key: string]: unknown;
}

export interface NovaService {
  readonly id: string | number;
  readonly binary: string;
  readonly host: string;
  readonly zone?: string;
  readonly status: string;
  readonly state?: string;
  readonly updated_at?: string | null;
  readonly disabled_reason?: string | null;
  readonly forced_down?: boolean;
  readonly [key: string]: unknown;
}

export interface JournalStep {
  readonly step: string;
  readonly host: string;
  readonly attempt: number;
  readonly status: string;
  readonly sent_at: string | number | null;
  readonly acked_at: string | number | null;
  readonly done_at: string | number | null;
  readonly failed_at: string | number | null;
  readonly error: string | null;
}

export interface JournalHistoryEntry {
  readonly status: string;
  readonly at?: string | number | null;
  readonly [key: string]: unknown;
}

export interface JournalQueue {
  readonly position: number;
  readonly host: string;
  readonly reason: string;
  readonly since: string | null;
}

/** GET /v2.1/baton/migrations/{id}/journal: {migration: {...Nova's view, history, error, leftovers, steps}}; read leniently. */
export interface JournalReply {
  readonly migration?: NovaMigration & {
    readonly history?: readonly (JournalHistoryEntry | string)[];
    readonly error?: string | null;
    readonly steps?: readonly JournalStep[];
    readonly progress?: {
      readonly memory_total_bytes?: number | null;
      readonly memory_processed_bytes?: number | null;
      readonly memory_remaining_bytes?: number | null;
    };
    /** What a migration ending in `error` could not clean up. */
    readonly leftovers?: readonly string[];
    /** While it waits for a concurrency slot: its place in its source host's queue (1 goes next) and why. */
    readonly queue?: JournalQueue | null;
  };
  readonly status?: string;
  readonly history?: readonly (JournalHistoryEntry | string)[];
  readonly status_history?: readonly (JournalHistoryEntry | string)[];
  readonly error?: string | null;
  readonly steps?: readonly JournalStep[];
  readonly journal?: readonly JournalStep[] | { readonly steps?: readonly JournalStep[] };
  readonly [key: string]: unknown;
}
