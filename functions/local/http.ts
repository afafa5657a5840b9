// What the local stand-ins (account-server, cloudformation-server, control-plane, eventbridge-server, slack-server,
// aws.ts's dynalite) do alike with their node:http servers: read a request's body, listen on a free loopback port,
// and close without waiting for a client that keeps its connection open. Development only: no Lambda bundle imports
// this file.
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * The whole body of `request` as UTF-8 text (empty for none); the chunks are joined before decoding, so a character
 * split across two of them stays whole.
 *
 * @example
 * import { createServer } from 'node:http';
 *
 * createServer((request, response) => {
 *   void readBody(request).then((text) => response.end(text.length.toString()));
 * });
 */
const readBody = async (request: IncomingMessage): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};

/** A server listening on loopback: where it is, and how to stop it. */
interface LoopbackListener {
  /** `http://127.0.0.1:PORT`. */
  origin: string;
  /**
   * Stops listening and drops every open connection, hanging and kept-alive ones included, so that it never waits on
   * a client. Safe to call twice (the same promise); rejects with the server's error, if any.
   */
  close(): Promise<void>;
}

/**
 * Starts `server` listening on a free port of 127.0.0.1 and keeps track of its connections.
 *
 * @throws the server's error (EADDRINUSE, EACCES…) when it cannot listen.
 * @example
 * import { createServer } from 'node:http';
 *
 * const listener = await listenOnLoopback(createServer((_request, response) => response.end('ok')));
 * await (await fetch(listener.origin)).text(); // 'ok'
 * await listener.close();
 */
const listenOnLoopback = async (server: Server): Promise<LoopbackListener> => {
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  let closing: Promise<void> | undefined;
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        for (const socket of sockets) socket.destroy();
      });
      return closing;
    },
  };
};

export type { LoopbackListener };
export { listenOnLoopback, readBody };
