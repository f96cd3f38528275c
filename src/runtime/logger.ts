/** Structured logging (pino) to stderr, so stdout stays for what a command prints. */
import { pino, type Logger } from 'pino';

export type LogFn = (msg: string, extra?: Record<string, unknown>) => void;

export function createLogger(name: string, level = process.env['BATON_LOG_LEVEL'] ?? 'warn'): Logger {
  return pino({ name, level }, pino.destination(2));
}

/** The narrow function the roles take; warnings by default, since they report something an operator should see. */
export function logFn(logger: Logger, level: 'info' | 'warn' = 'warn'): LogFn {
  return (msg, extra) => logger[level](extra ?? {}, msg);
}
