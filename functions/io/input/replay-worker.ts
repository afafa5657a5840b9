import { parentPort, workerData } from 'node:worker_threads';
import { patternsPrefilter } from '../../core/event-pattern/tokens.js';
import type { InputLimits } from './limits.js';
import { scanWholeFileSync } from './whole-file.js';
import type { WorkerData, WorkerRequest, WorkerResponse } from './workers.js';

/*
 * The worker thread of `rootwatch replay`: reads, gunzips, decodes and scans the small files the main thread hands
 * it, one message each, and answers with what whole-file.ts gives. It builds the catalog's pre-filter from the
 * patterns it is started with, as the main thread does. Bundled as dist/replay-worker.mjs beside dist/cli.mjs.
 */

const { patterns, limits } = workerData as WorkerData;
const prefilter = patterns === undefined ? undefined : patternsPrefilter(patterns);
const port = parentPort;
port?.on('message', (request: WorkerRequest) => {
  let response: WorkerResponse;
  try {
    response = { id: request.id, file: scanWholeFileSync(request.path, prefilter, limits as InputLimits) };
  } catch {
    // Nothing should throw here; if it does, the main thread streams the file and says what is wrong.
    response = { id: request.id, file: { kind: 'stream' } };
  }
  port.postMessage(response);
});
