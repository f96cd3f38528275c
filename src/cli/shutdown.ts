/** Runs cleanup once on SIGINT/SIGTERM, then exits. */
export function onShutdown(cleanup: () => Promise<void>): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.error(`\nbaton: ${signal} received, finishing in-flight work`);
    cleanup().then(() => process.exit(0), (e: unknown) => { console.error(`baton: shutdown failed: ${String(e)}`); process.exit(1); });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}
