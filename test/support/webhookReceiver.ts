/**
 * A chat's incoming webhook on 127.0.0.1: records every POST, and answers as told (accept, an HTTP
 * error with optional Retry-After, or never). It can be stopped and started again on the same port,
 * so that posts meanwhile are refused (ECONNREFUSED).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export type ReceiverAnswer = 'accept' | 'hang' | { status: number; retryAfter?: string };

export interface WebhookPost {
  path: string;
  contentType: string | undefined;
  body: { text: string; burnrate: Record<string, unknown> & { kind: string; id: string } };
}

export interface WebhookReceiver {
  /** The webhook URL, with a token in its path as Slack's have. */
  url: string;
  token: string;
  port: number;
  /** Every POST that arrived, answered or not. */
  posts: WebhookPost[];
  /** How the next POST is answered (default: accept). */
  answer: (n: number) => ReceiverAnswer;
  /** Resolves once `n` POSTs have arrived. */
  received(n: number): Promise<WebhookPost[]>;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(token = 'T0TEST/B0TEST/s3cr3tW3bh00kT0k3n'): Promise<WebhookReceiver> {
  const hanging = new Set<http.ServerResponse>();
  const waiters: Array<() => void> = [];
  let server: http.Server | undefined;
  const receiver = {
    token,
    posts: [] as WebhookPost[],
    answer: (() => 'accept') as WebhookReceiver['answer'],
  } as WebhookReceiver;
  const handle = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const n = receiver.posts.length;
      receiver.posts.push({ path: req.url ?? '', contentType: req.headers['content-type'], body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      for (const wake of waiters.splice(0)) wake();
      const answer = receiver.answer(n);
      if (answer === 'hang') return void hanging.add(res);
      if (answer === 'accept') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      res.writeHead(answer.status, answer.retryAfter ? { 'retry-after': answer.retryAfter } : {}).end('no');
    });
  };
  const listen = (port: number) =>
    new Promise<number>((resolve) => {
      server = http.createServer(handle);
      server.listen(port, '127.0.0.1', () => resolve((server!.address() as AddressInfo).port));
    });
  receiver.port = await listen(0);
  receiver.url = `http://127.0.0.1:${receiver.port}/services/${token}`;
  receiver.received = (n) =>
    new Promise((resolve) => {
      const check = () => (receiver.posts.length >= n ? resolve(receiver.posts.slice(0, n)) : waiters.push(check));
      check();
    });
  receiver.stop = () =>
    new Promise((resolve) => {
      for (const res of hanging) res.destroy();
      hanging.clear();
      server!.closeAllConnections();
      server!.close(() => resolve());
    });
  receiver.start = async () => {
    await listen(receiver.port);
  };
  receiver.close = () => receiver.stop();
  return receiver;
}
