import { afterEach, describe, expect, it, vi } from 'vitest';
import { createProgressBar } from '../../functions/io/progress.js';

const terminal = (isTTY: boolean) => {
  const written: string[] = [];
  return {
    written,
    stream: Object.assign(
      {
        write: (chunk: string) => {
          written.push(chunk);
          return true;
        },
      },
      { isTTY, columns: 80 },
    ) as unknown as NodeJS.WritableStream & { isTTY: boolean; columns: number },
  };
};
const progress = { bytesRead: 5_000_000, bytesTotal: 10_000_000, filesRead: 3, filesTotal: 7 };

afterEach(() => {
  vi.useRealTimers();
});

describe('createProgressBar', () => {
  it('draws nothing when stderr is not a terminal (pipes and CI logs stay clean)', () => {
    vi.useFakeTimers();
    const { stream, written } = terminal(false);
    const bar = createProgressBar(stream);
    vi.advanceTimersByTime(5000);
    bar.update(progress, 100);
    bar.clear();
    expect(written).toEqual([]);
  });

  it('waits a second before drawing, so short runs show no bar', () => {
    vi.useFakeTimers();
    const { stream, written } = terminal(true);
    const bar = createProgressBar(stream);
    bar.update(progress, 100);
    expect(written).toEqual([]);
    vi.advanceTimersByTime(1500);
    bar.update(progress, 12_345);
    expect(written).toHaveLength(1);
    expect(written[0]).toBe(`\r[${'#'.repeat(15)}${' '.repeat(15)}] 50%  3/7 files  5.0 MB  12,345 records`);
  });

  it('redraws at most ten times a second, fits the terminal, and clears its line', () => {
    vi.useFakeTimers();
    const { stream, written } = terminal(true);
    const bar = createProgressBar(stream);
    vi.advanceTimersByTime(1500);
    bar.update(progress, 1);
    bar.update(progress, 2);
    vi.advanceTimersByTime(150);
    bar.update(progress, 3);
    expect(written).toHaveLength(2);
    expect(written.every((line) => line.length <= 80)).toBe(true);
    bar.clear();
    expect(written.at(-1)).toBe('\r\u001b[2K');
    bar.clear();
    expect(written).toHaveLength(3);
  });
});
