/** The logging hook the AMQP transport reports through (connection loss, rejected messages, ...). */
export type AmqpLogLevel = 'info' | 'warn' | 'error';
export type AmqpLog = (level: AmqpLogLevel, msg: string, fields?: Record<string, unknown>) => void;

/** Default: warnings and errors to stderr, info dropped. */
export const stderrLog: AmqpLog = (level, msg, fields) => {
  if (level === 'info') return;
  console.error(`[baton amqp] ${level}: ${msg}`, fields ?? '');
};

export function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
