import { createServer, request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { type LoopbackListener, listenOnLoopback, readBody } from '../../functions/local/http.js';

let listener: LoopbackListener | undefined;
afterEach(async () => {
  await listener?.close();
  listener = undefined;
});

/** Sends `chunks` one write each and resolves to the answer's body, or rejects when the connection is dropped. */
const post = (origin: string, chunks: Buffer[]): Promise<string> =>
  new Promise((resolve, reject) => {
    const outgoing = request(`${origin}/`, { method: 'POST' }, (response) => {
      void readBody(response).then(resolve, reject);
    });
    outgoing.on('error', reject);
    for (const chunk of chunks) outgoing.write(chunk);
    outgoing.end();
  });

describe('readBody', () => {
  it('keeps a character whole when its bytes arrive in two chunks', async () => {
    // Prepare: "é" is two bytes in UTF-8, split across two writes
    listener = await listenOnLoopback(
      createServer((incoming, response) => {
        void readBody(incoming).then((text) => response.end(JSON.stringify({ text, length: text.length })));
      }),
    );
    const bytes = Buffer.from('café au lait', 'utf8');

    // Act
    const answer = await post(listener.origin, [bytes.subarray(0, 4), bytes.subarray(4)]);

    // Assess
    expect(JSON.parse(answer)).toStrictEqual({ text: 'café au lait', length: 12 });
  });

  it('reads an empty body as the empty string', async () => {
    // Prepare
    listener = await listenOnLoopback(
      createServer((incoming, response) => {
        void readBody(incoming).then((text) => response.end(JSON.stringify(text)));
      }),
    );

    // Act
    const answer = await post(listener.origin, []);

    // Assess
    expect(JSON.parse(answer)).toBe('');
  });
});

describe('listenOnLoopback', () => {
  it('listens on 127.0.0.1 and closes without waiting for a request that never gets an answer', async () => {
    // Prepare: a server that never answers
    const started = await listenOnLoopback(createServer(() => {}));
    expect(started.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const hanging = post(started.origin, [Buffer.from('x')]);
    await new Promise((resolve) => setTimeout(resolve, 50));

    // Act
    const first = started.close();
    const second = started.close();

    // Assess
    expect(second).toBe(first);
    await expect(first).resolves.toBeUndefined();
    await expect(hanging).rejects.toThrow(/socket hang up|ECONNRESET/);
  });

  it('rejects with the server error when it cannot listen', async () => {
    // Prepare: a server already listening cannot listen again
    const server = createServer(() => {});
    listener = await listenOnLoopback(server);

    // Act
    const again = listenOnLoopback(server);

    // Assess
    await expect(again).rejects.toMatchObject({ code: 'ERR_SERVER_ALREADY_LISTEN' });
  });
});
