import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { InputLimits } from './limits.js';
import type { WholeFile } from './whole-file.js';

/*
 * The worker threads that read small files for replay: where their entry is (the TypeScript source under tsx or
 * vitest, dist/replay-worker.mjs beside the CLI bundle), starting them, and handing each a file at a time.
 */

/** What a worker is started with: the catalog's patterns (its pre-filter is built from them) and the limits. */
interface WorkerData {
  readonly patterns: readonly Readonly<Record<string, unknown>>[] | undefined;
  readonly limits: InputLimits;
}
interface WorkerRequest {
  readonly id: number;
  readonly path: string;
}
interface WorkerResponse {
  readonly id: number;
  readonly file: WholeFile;
}

/**
 * The URL of tsx's ESM API (`tsx/esm/api`, its `import` entry), from the tsx package this module resolves; undefined
 * when tsx is not installed. Its `register()` makes the thread that calls it load TypeScript.
 */
const tsxApi = (): string | undefined => {
  try {
    const manifestPath = createRequire(import.meta.url).resolve('tsx/package.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
      exports?: Record<string, { import?: { default?: unknown } } | string>;
    };
    const api = manifest.exports?.['./esm/api'];
    const target = typeof api === 'object' ? api.import?.default : undefined;
    return typeof target === 'string' ? pathToFileURL(join(dirname(manifestPath), target)).href : undefined;
  } catch {
    return undefined;
  }
};

const exists = (url: URL): boolean => {
  try {
    return existsSync(fileURLToPath(url));
  } catch {
    return false;
  }
};

/**
 * The worker's entry: from the bundle (this module is inside dist/, e.g. dist/cli.mjs) dist/replay-worker.mjs; from
 * source (this module is a .ts file, run by tsx or vitest) a small module that registers tsx's loader on the worker's
 * thread and imports replay-worker.ts (Node 20 does not take `--import tsx` in a worker's execArgv: tsx registers
 * its hooks from the main thread only). Undefined when neither is there: files are then read on the main thread.
 */
const workerEntry = (): URL | undefined => {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) {
    const bundled = new URL('./replay-worker.mjs', here);
    return exists(bundled) ? bundled : undefined;
  }
  const source = new URL('./replay-worker.ts', here);
  const api = tsxApi();
  if (api === undefined || !exists(source)) return undefined;
  const boot = `const { register } = await import(${JSON.stringify(api)});\nregister();\nawait import(${JSON.stringify(source.href)});\n`;
  return new URL(`data:text/javascript,${encodeURIComponent(boot)}`);
};

/**
 * The young generation of each worker's V8 heap, in MiB (Node's `resourceLimits.maxYoungGenerationSizeMb`). A worker
 * gunzips each file into a buffer of its own (about 1.4 MB for a CloudTrail log file) and drops it once scanned; the
 * buffers are freed only when a garbage collection finds them dead. With V8's default young generation dozens of them
 * were freed at once, glibc gave that memory back to the kernel, and the next files faulted it in again page by page
 * (a fifth of a worker's time). A young generation this small collects every few files, so each freed buffer's memory
 * is reused at once: over the bench corpus, 18 % less wall time and 40 % fewer page faults (2026-12-02, 2 cores). What
 * a worker keeps between files is small (the catalog's pre-filter, the WebAssembly instance), so collections are cheap.
 */
const WORKER_YOUNG_GENERATION_MB = 1;

/** A pool of workers reading small files; `scan` answers undefined when a worker failed (read it in-thread then). */
interface ScanPool {
  scan(path: string): Promise<WholeFile | undefined>;
  /** Stops the workers; answers not yet given are undefined. */
  close(): Promise<void>;
}

interface Slot {
  readonly worker: Worker;
  readonly waiting: Map<number, (file: WholeFile | undefined) => void>;
  failed: boolean;
}

/**
 * Starts `count` workers (none, and undefined, when their entry cannot be found). A worker that fails (its entry
 * does not load, it dies) answers undefined for its files, and takes no more.
 */
const startScanPool = (count: number, data: WorkerData): ScanPool | undefined => {
  const entry = workerEntry();
  if (entry === undefined || count < 1) return undefined;
  const slots: Slot[] = [];
  for (let index = 0; index < count; index++) {
    let worker: Worker;
    try {
      worker = new Worker(entry, {
        workerData: data,
        resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
      });
    } catch {
      break;
    }
    const slot: Slot = { worker, waiting: new Map(), failed: false };
    const fail = (): void => {
      slot.failed = true;
      for (const resolve of slot.waiting.values()) resolve(undefined);
      slot.waiting.clear();
    };
    worker.on('message', (response: WorkerResponse) => {
      const resolve = slot.waiting.get(response.id);
      slot.waiting.delete(response.id);
      resolve?.(response.file);
    });
    worker.on('error', fail);
    worker.on('exit', fail);
    slots.push(slot);
  }
  if (slots.length === 0) return undefined;
  let nextId = 0;
  return {
    scan: (path) => {
      const live = slots.filter((slot) => !slot.failed);
      if (live.length === 0) return Promise.resolve(undefined);
      const slot = live.reduce((best, candidate) => (candidate.waiting.size < best.waiting.size ? candidate : best));
      const id = nextId++;
      return new Promise((resolve) => {
        slot.waiting.set(id, resolve);
        slot.worker.postMessage({ id, path } satisfies WorkerRequest);
      });
    },
    close: async () => {
      await Promise.all(slots.map((slot) => slot.worker.terminate()));
    },
  };
};

export type { ScanPool, WorkerData, WorkerRequest, WorkerResponse };
export { startScanPool };
