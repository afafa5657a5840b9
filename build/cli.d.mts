/** Types of build/cli.mjs for the TypeScript that imports it (the tests and the bench). */

/** Builds the command line into `outdir` (default `root`/dist); see build/cli.mjs. */
export function buildCli(options?: {
  root?: string;
  outdir?: string;
  minify?: boolean;
}): Promise<{ outdir: string; files: string[]; bytes: number }>;
/** Packages left out of the bundle, imported from node_modules when their command runs. */
export const EXTERNAL: readonly string[];
/** The newest modification time (ms since the epoch) of the files under `root`'s source folders, 0 when none. */
export function newestSourceTime(root?: string): number;
/** The folders, relative to the repository, whose files the bundle is built from. */
export const SOURCE_DIRS: readonly string[];
/** The file in the output folder recording when the build started: `{ startedAt, sources }`. */
export const STAMP_FILE: string;
