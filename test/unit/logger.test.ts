import { afterEach, describe, expect, it, vi } from 'vitest';
import { logger } from '../../functions/io/logger.js';

/** The JSON lines the logger printed (stdout and stderr) while `run` ran. */
const printed = (run: () => void): Array<Record<string, unknown>> => {
  const lines: string[] = [];
  const capture = (chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  };
  // Powertools writes warnings and errors to stderr, the rest to stdout.
  const spies = [vi.spyOn(process.stdout, 'write'), vi.spyOn(process.stderr, 'write')];
  for (const spy of spies) spy.mockImplementation(capture);
  try {
    run();
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
  return lines
    .join('')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
};

describe('logger', () => {
  afterEach(() => logger.setLogLevel('SILENT'));

  it('prints info lines at INFO, with their attributes', () => {
    logger.setLogLevel('INFO');
    const lines = printed(() => logger.info('alert delivered', { severity: 'critical' }));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'INFO', message: 'alert delivered', severity: 'critical' });
  });

  it('drops info lines above INFO and still prints warnings', () => {
    logger.setLogLevel('WARN');
    const lines = printed(() => {
      logger.info('alert delivered', { severity: 'critical' });
      logger.warn('state table unavailable');
    });
    expect(lines.map((line) => line.message)).toEqual(['state table unavailable']);
  });

  it('keeps a pinned level until setLogLevel changes it', () => {
    logger.pinLogLevel('WARN');
    expect(printed(() => logger.info('dropped while pinned at WARN'))).toEqual([]);
    logger.pinLogLevel('INFO');
    expect(printed(() => logger.info('printed while pinned at INFO')).map((line) => line.message)).toEqual([
      'printed while pinned at INFO',
    ]);
    logger.pinLogLevel('WARN');
    logger.setLogLevel('INFO');
    expect(printed(() => logger.info('printed once unpinned')).map((line) => line.message)).toEqual([
      'printed once unpinned',
    ]);
  });
});
