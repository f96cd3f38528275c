/**
 * The qemu driver's public surface for the composition root (`baton compute --driver qemu`,
 * `baton up --driver qemu`): the factory, its config type, and the config/policy loaders.
 */
export { createQemuDriver, QemuDriver } from './qemu-driver.js';
export type { QemuDriverConfig, GuestWorkload } from './qemu-config.js';
export { loadQemuDriverConfig } from './qemu-config-loader.js';
export { DEFAULT_MONITOR_POLICY, loadMonitorPolicy, type MonitorPolicy, type TimeoutAction } from './monitor-policy.js';
