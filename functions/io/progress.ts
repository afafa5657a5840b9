import { groupDigits } from '../core/render/text.js';

interface Progress {
  bytesRead: number;
  bytesTotal: number;
  filesRead: number;
  filesTotal: number;
}

/**
 * A one-line progress bar on stderr, drawn only when stderr is a terminal and the run has taken
 * more than a second (short runs and pipes stay clean), redrawn at most ten times a second.
 */
const createProgressBar = (stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number }) => {
  const started = Date.now();
  let lastDraw = 0;
  let drawn = false;
  return {
    update(progress: Progress, records: number): void {
      if (!stream.isTTY) return;
      const now = Date.now();
      if (now - started < 1000 || now - lastDraw < 100) return;
      lastDraw = now;
      const ratio = progress.bytesTotal > 0 ? Math.min(1, progress.bytesRead / progress.bytesTotal) : 0;
      const width = 30;
      const filled = Math.round(ratio * width);
      const mb = (progress.bytesRead / 1e6).toFixed(1);
      const line = `[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${Math.round(ratio * 100)}%  ${progress.filesRead}/${progress.filesTotal} files  ${mb} MB  ${groupDigits(records)} records`;
      stream.write(`\r${line.slice(0, (stream.columns ?? 100) - 1)}`);
      drawn = true;
    },
    clear(): void {
      if (drawn) stream.write('\r\u001b[2K');
      drawn = false;
    },
  };
};

export { createProgressBar };
