/**
 * Errors the `baton` client reports. Each carries the exit code the CLI ends with:
 * 1 for a failure on the server or the connection, 2 for a usage error on the command line,
 * 3 when `baton audit` ran and found anomalies (so scripts can tell that apart from a failed request).
 */
export const ExitCode = { OK: 0, FAILURE: 1, USAGE: 2, ANOMALIES: 3 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The API answered with an error; `message` is Nova's fault message (or Keystone's error message). */
export class ApiError extends Error {
  readonly exitCode: ExitCode = ExitCode.FAILURE;
  constructor(readonly status: number, readonly fault: string, message: string) {
    super(message);
  }
}

/** The server could not be reached at all; the message names the URL. */
export class ConnectionError extends Error {
  readonly exitCode: ExitCode = ExitCode.FAILURE;
}

/** The command line asks for something the client cannot do (bad argument, ambiguous name...). */
export class UsageError extends Error {
  readonly exitCode: ExitCode = ExitCode.USAGE;
}

/** The operation ran but did not end the way the user asked (a migration that failed, a server in ERROR). */
export class OutcomeError extends Error {
  readonly exitCode: ExitCode = ExitCode.FAILURE;
}

/** The audit ran and found anomalies; the report itself went to stdout. */
export class AnomaliesFound extends OutcomeError {
  override readonly exitCode: ExitCode = ExitCode.ANOMALIES;
}

export function exitCodeOf(e: unknown): ExitCode {
  if (e instanceof ApiError || e instanceof ConnectionError || e instanceof UsageError || e instanceof OutcomeError) return e.exitCode;
  return ExitCode.FAILURE;
}

/** `baton: <what failed>: <why>`, the one line a failure prints on stderr. */
export function failureLine(what: string, e: unknown): string {
  const why = e instanceof Error ? e.message : String(e);
  return `baton: ${what}: ${why}`;
}
