/**
 * A second "API process" on the same SQLite file, in a worker thread: its own connection, whose busy
 * wait blocks only this thread. Waits for "go", sends its requests at once, reports their outcomes.
 */
import { once } from 'node:events';
import { parentPort, workerData } from 'node:worker_threads';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { request } from './admission-fixtures.js';

const { path, instanceUuid, requests } = workerData as { path: string; instanceUuid: string; requests: number };
const store = await createSqliteStore(path);
parentPort!.postMessage('ready');
await once(parentPort!, 'message');
const outcomes = await Promise.all(Array.from({ length: requests }, () => request(store, instanceUuid, 'dst')));
await store.close();
parentPort!.postMessage(outcomes);
