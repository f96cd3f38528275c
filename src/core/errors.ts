/**
 * The error catalog. Codes keep Nova's exception names, which operators already know.
 * Every error carries its code, an HTTP status for the API, context fields and whether a retry can help.
 */
export const ErrorCode = {
  InstanceInvalidState: 'InstanceInvalidState',
  InstanceNotFound: 'InstanceNotFound',
  ComputeHostNotFound: 'ComputeHostNotFound',
  ComputeServiceUnavailable: 'ComputeServiceUnavailable',
  UnableToMigrateToSelf: 'UnableToMigrateToSelf',
  MigrationPreCheckError: 'MigrationPreCheckError',
  InvalidHypervisorType: 'InvalidHypervisorType',
  DestinationHypervisorTooOld: 'DestinationHypervisorTooOld',
  InvalidCPUInfo: 'InvalidCPUInfo',
  NoValidHost: 'NoValidHost',
  MaxRetriesExceeded: 'MaxRetriesExceeded',
  MigrationNotFound: 'MigrationNotFound',
  InvalidMigrationState: 'InvalidMigrationState',
  MigrationError: 'MigrationError',
  MigrationCancelled: 'MigrationCancelled',
  /**
   * The hypervisor shows that the guest's state moved to the destination (QEMU's migration completed, or
   * the incoming guest runs): a rollback on either side refuses, and the conductor treats it as proof of
   * switch-over instead of a failure. Fields: host, uuid, evidence.
   */
  MigrationSwitchedOver: 'MigrationSwitchedOver',
  FlavorNotFound: 'FlavorNotFound',
  /** No drain was ever started on the host. */
  DrainNotFound: 'DrainNotFound',
  /** The host's drain is not in a state that allows the request (cancel an ended drain, start one while a cancel finishes). */
  InvalidDrainState: 'InvalidDrainState',
  MessagingTimeout: 'MessagingTimeout',
  UnsupportedVersion: 'UnsupportedVersion',
  InvalidRequest: 'InvalidRequest',
  NotImplemented: 'NotImplemented',
  Internal: 'Internal',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const HTTP_STATUS: Record<ErrorCode, number> = {
  InstanceInvalidState: 409,
  InstanceNotFound: 404,
  ComputeHostNotFound: 400,
  ComputeServiceUnavailable: 400,
  UnableToMigrateToSelf: 400,
  MigrationPreCheckError: 400,
  InvalidHypervisorType: 400,
  DestinationHypervisorTooOld: 400,
  InvalidCPUInfo: 400,
  NoValidHost: 400,
  MaxRetriesExceeded: 400,
  MigrationNotFound: 404,
  InvalidMigrationState: 400,
  MigrationError: 500,
  MigrationCancelled: 400,
  MigrationSwitchedOver: 409,
  FlavorNotFound: 400,
  DrainNotFound: 404,
  InvalidDrainState: 409,
  MessagingTimeout: 504,
  UnsupportedVersion: 400,
  InvalidRequest: 400,
  NotImplemented: 501,
  Internal: 500,
};

/** Errors that describe the request or the hosts, so retrying the same thing cannot succeed. */
const NON_RETRYABLE = new Set<ErrorCode>([
  'InstanceInvalidState', 'InstanceNotFound', 'ComputeHostNotFound', 'UnableToMigrateToSelf',
  'InvalidHypervisorType', 'DestinationHypervisorTooOld', 'InvalidCPUInfo', 'MigrationPreCheckError',
  'NoValidHost', 'MaxRetriesExceeded', 'MigrationSwitchedOver', 'InvalidRequest', 'UnsupportedVersion', 'FlavorNotFound',
  'DrainNotFound', 'InvalidDrainState',
]);

export interface ErrorBody {
  readonly code: string;
  readonly message: string;
  readonly fields?: Readonly<Record<string, unknown>>;
}

export class BatonError extends Error {
  readonly code: ErrorCode;
  readonly fields: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, fields: Record<string, unknown> = {}) {
    super(message);
    this.name = code;
    this.code = code;
    this.fields = fields;
  }

  get httpStatus(): number {
    return HTTP_STATUS[this.code];
  }

  get nonRetryable(): boolean {
    return NON_RETRYABLE.has(this.code);
  }

  toBody(): ErrorBody {
    return { code: this.code, message: this.message, fields: this.fields };
  }
}

export function isErrorCode(code: string): code is ErrorCode {
  return Object.prototype.hasOwnProperty.call(ErrorCode, code);
}

/** Rebuilds a typed error from its wire form; an unknown code becomes Internal, keeping the original text. */
export function fromBody(body: ErrorBody): BatonError {
  if (isErrorCode(body.code)) return new BatonError(body.code, body.message, { ...(body.fields ?? {}) });
  return new BatonError('Internal', `${body.code}: ${body.message}`, { ...(body.fields ?? {}) });
}

/** Turns anything thrown into a wire-safe body without losing the message. */
export function toErrorBody(err: unknown): ErrorBody {
  if (err instanceof BatonError) return err.toBody();
  if (err instanceof Error) return { code: 'Internal', message: err.message };
  return { code: 'Internal', message: String(err) };
}
