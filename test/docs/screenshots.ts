/**
 * `npm run screenshots`: the README's pictures of what people receive, made from the real pipeline pieces and
 * drawn by headless Chromium:
 * - docs/images/slack-alert.png: a root console sign-in without MFA (events/samples/root-console-sign-in-no-mfa.json)
 *   classified against the catalog, built into an alert (buildAlert, account name and country as enrichment would
 *   give them, the first alert of its session), rendered by renderSlackMessage, drawn like Slack (alert-pages.ts);
 * - docs/images/email-alert.png: the same alert's e-mail (renderEmail), as plain text;
 * - docs/images/slack-digest.png: a digest of the session's next events (buildDigest, renderDigestSlack).
 * Run it again after changing a renderer or the sample: the pictures follow.
 *
 * Installs nothing. Chromium is found as $CHROMIUM_PATH or on PATH (chromium, chromium-browser, google-chrome); without
 * it the script says what to install and exits 1. It is driven over the DevTools protocol on a pipe
 * (--remote-debugging-pipe: no port, no network, no extra package), which lets each picture be cropped to the
 * message itself.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { buildAlert } from '../../functions/core/alert-document.js';
import { classify } from '../../functions/core/classify.js';
import { buildDigest } from '../../functions/core/digest-document.js';
import { recordToEvent } from '../../functions/core/event.js';
import { renderDigestSlack } from '../../functions/core/render/digest.js';
import { renderEmail } from '../../functions/core/render/email.js';
import { renderSlackMessage } from '../../functions/core/render/slack.js';
import { sessionKeyOf } from '../../functions/core/session.js';
import { loadDetections } from '../../functions/io/detections.js';
import { REPO_ROOT } from '../helpers/corpus.js';
import { entryAt, foldOf } from '../helpers/digests.js';
import { readSample } from '../helpers/samples.js';
import { emailPage, slackPage } from './alert-pages.js';

const IMAGES_DIR = join(REPO_ROOT, 'docs', 'images');
const SAMPLE = 'root-console-sign-in-no-mfa.json';
/** Page width in CSS pixels; pictures are taken at one device pixel per CSS pixel, so about 1000 px wide. */
const WIDTH = 1000;
/** How long one DevTools call may take before the script gives up (a hung browser must not hang the script). */
const CALL_TIMEOUT_MS = 60_000;
const EMOJI_FONT = '/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf';

// ── The messages ───────────────────────────────────────────────────────────────────────────────

const detections = loadDetections();

/** The README's alert: root signs in to the console without MFA, in prod-payments, from Germany; a session's first. */
const signInMessages = () => {
  const event = recordToEvent(readSample(SAMPLE));
  const alert = {
    ...buildAlert(event, classify(event, detections), {
      enrichment: { account: { name: 'prod-payments' }, source: { country: 'DE' } },
    }),
    session: { key: sessionKeyOf(event), first: true },
  };
  return { alert, slack: renderSlackMessage(alert, detections), email: renderEmail(alert, detections) };
};

/** Seconds after the sign-in, as CloudTrail writes times. */
const afterSignIn = (signIn: string, seconds: number): string =>
  new Date(Date.parse(signIn) + seconds * 1000).toISOString().replace('.000Z', 'Z');

/**
 * What that session did next, folded into a digest: 23 read-only calls and a bucket policy change in the three
 * minutes after the sign-in, from the same address and browser.
 */
const digestMessage = (signIn: string) => {
  const names = ['ListBuckets', 'DescribeInstances', 'ListUsers', 'GetBucketPolicy', 'GetAccountSummary'];
  const from = { sourceIp: '203.0.113.11', client: 'Firefox 62 on macOS' };
  const entries = Array.from({ length: 23 }, (_, i) =>
    entryAt(i, {
      ...from,
      eventName: names[i % names.length] ?? 'ListBuckets',
      eventTime: afterSignIn(signIn, 30 + i * 7),
    }),
  );
  entries.push(entryAt(23, { ...from, eventName: 'PutBucketPolicy', eventTime: afterSignIn(signIn, 200) }));
  return renderDigestSlack(buildDigest(foldOf(entries)), detections);
};

// ── Chromium over the DevTools protocol ────────────────────────────────────────────────────────

/** Where Chromium is: $CHROMIUM_PATH, else the first of the usual names on PATH; undefined when none is. */
const findChromium = (): string | undefined => {
  const candidates = process.env.CHROMIUM_PATH
    ? [process.env.CHROMIUM_PATH]
    : ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'].flatMap((name) =>
        (process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, name)),
      );
  return candidates.find((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
};

interface DevTools {
  send: (method: string, params?: Record<string, unknown>, sessionId?: string) => Promise<Record<string, unknown>>;
  once: (method: string, sessionId: string) => Promise<void>;
}

/**
 * A DevTools protocol client over Chromium's pipe (fd 3 in, fd 4 out, messages ending in NUL).
 * https://chromedevtools.github.io/devtools-protocol/
 */
const devToolsOver = (browser: ChildProcess): DevTools => {
  const input = browser.stdio[3] as Writable;
  const output = browser.stdio[4] as Readable;
  let nextId = 1;
  const pending = new Map<number, { resolve: (value: Record<string, unknown>) => void; reject: (e: Error) => void }>();
  const waiters = new Map<string, () => void>();
  let buffered = '';
  output.setEncoding('utf8');
  output.on('data', (chunk: string) => {
    buffered += chunk;
    let end = buffered.indexOf('\0');
    while (end !== -1) {
      const message = JSON.parse(buffered.slice(0, end)) as {
        id?: number;
        method?: string;
        sessionId?: string;
        result?: Record<string, unknown>;
        error?: { message: string };
      };
      buffered = buffered.slice(end + 1);
      end = buffered.indexOf('\0');
      if (message.id !== undefined) {
        const call = pending.get(message.id);
        pending.delete(message.id);
        if (message.error) call?.reject(new Error(`Chromium: ${message.error.message}`));
        else call?.resolve(message.result ?? {});
      } else if (message.method) {
        const key = `${message.sessionId ?? ''} ${message.method}`;
        waiters.get(key)?.();
        waiters.delete(key);
      }
    }
  });
  const failAll = (error: Error) => {
    for (const call of pending.values()) call.reject(error);
    pending.clear();
  };
  browser.on('exit', (code) => failAll(new Error(`Chromium exited (${code}) before answering`)));
  const withTimeout = <T>(promise: Promise<T>, what: string): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`Chromium did not answer ${what} within ${CALL_TIMEOUT_MS / 1000} s`)),
        CALL_TIMEOUT_MS,
      );
      promise.then(resolve, reject).finally(() => clearTimeout(timer));
    });
  return {
    send: (method, params = {}, sessionId) => {
      const id = nextId++;
      const call = new Promise<Record<string, unknown>>((resolve, reject) => pending.set(id, { resolve, reject }));
      input.write(`${JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })}\0`);
      return withTimeout(call, method);
    },
    once: (method, sessionId) =>
      withTimeout(new Promise<void>((resolve) => waiters.set(`${sessionId} ${method}`, resolve)), method),
  };
};

/** Opens `html` (a file) at WIDTH and returns a PNG of its `main` element's box, from the page's top left. */
const capture = async (devTools: DevTools, html: string): Promise<Buffer> => {
  const { targetId } = await devTools.send('Target.createTarget', { url: 'about:blank' });
  const { sessionId } = (await devTools.send('Target.attachToTarget', { targetId, flatten: true })) as {
    sessionId: string;
  };
  await devTools.send('Page.enable', {}, sessionId);
  await devTools.send(
    'Emulation.setDeviceMetricsOverride',
    { width: WIDTH, height: 600, deviceScaleFactor: 1, mobile: false },
    sessionId,
  );
  const loaded = devTools.once('Page.loadEventFired', sessionId);
  await devTools.send('Page.navigate', { url: pathToFileURL(html).href }, sessionId);
  await loaded;
  const { result } = (await devTools.send(
    'Runtime.evaluate',
    {
      expression:
        'document.fonts.ready.then(() => { const box = document.querySelector("main").getBoundingClientRect(); return [Math.ceil(box.right), Math.ceil(box.bottom)]; })',
      awaitPromise: true,
      returnByValue: true,
    },
    sessionId,
  )) as { result: { value: [number, number] } };
  const [width, height] = result.value;
  const { data } = (await devTools.send(
    'Page.captureScreenshot',
    { format: 'png', clip: { x: 0, y: 0, width, height, scale: 1 }, captureBeyondViewport: true },
    sessionId,
  )) as { data: string };
  await devTools.send('Target.closeTarget', { targetId });
  return Buffer.from(data, 'base64');
};

// ── Main ───────────────────────────────────────────────────────────────────────────────────────

const chromium = findChromium();
if (chromium === undefined) {
  const looked = process.env.CHROMIUM_PATH
    ? `CHROMIUM_PATH (${process.env.CHROMIUM_PATH}) is not an executable file`
    : 'none of chromium, chromium-browser, google-chrome, google-chrome-stable is on PATH, and CHROMIUM_PATH is unset';
  process.stderr.write(
    [
      `npm run screenshots: Chromium is missing: ${looked}.`,
      'This script installs nothing. On Debian or Ubuntu:',
      '',
      '  sudo apt-get install chromium fonts-noto-color-emoji',
      '',
      'or set CHROMIUM_PATH to a Chromium or Chrome binary, then run npm run screenshots again.',
      '',
    ].join('\n'),
  );
  process.exit(1);
}
if (!existsSync(EMOJI_FONT)) {
  process.stderr.write(
    `warning: no colour emoji font (${EMOJI_FONT}): the severity emoji will show as boxes; sudo apt-get install fonts-noto-color-emoji\n`,
  );
}

const work = mkdtempSync(join(tmpdir(), 'rootwatch-screenshots-'));
const { alert, slack, email } = signInMessages();
const time = alert.eventTime.slice(11, 16);
const pages: [png: string, html: string][] = [
  ['slack-alert.png', slackPage(slack, { time })],
  ['email-alert.png', emailPage(email)],
  [
    'slack-digest.png',
    slackPage(digestMessage(alert.eventTime), { time: afterSignIn(alert.eventTime, 300).slice(11, 16) }),
  ],
];

const browser = spawn(
  chromium,
  [
    '--headless',
    '--remote-debugging-pipe',
    `--user-data-dir=${join(work, 'profile')}`,
    '--no-first-run',
    '--no-default-browser-check',
    '--disable-gpu',
    '--disable-extensions',
    '--disable-background-networking',
    '--disable-component-update',
    '--hide-scrollbars',
    '--force-color-profile=srgb',
    // Chromium refuses to start as root with its sandbox; the pages are our own files and allow no script.
    ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
    'about:blank',
  ],
  { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] },
);
let browserErrors = '';
browser.stderr?.on('data', (chunk: Buffer) => {
  browserErrors = (browserErrors + chunk.toString()).slice(-4000);
});

try {
  const devTools = devToolsOver(browser);
  mkdirSync(IMAGES_DIR, { recursive: true });
  for (const [png, html] of pages) {
    const file = join(work, png.replace(/\.png$/, '.html'));
    writeFileSync(file, html);
    const image = await capture(devTools, file);
    writeFileSync(join(IMAGES_DIR, png), image);
    process.stderr.write(`wrote docs/images/${png} (${Math.round(image.length / 1024)} KB)\n`);
  }
} catch (error) {
  process.stderr.write(`npm run screenshots: ${(error as Error).message}\n${browserErrors}\n`);
  process.exitCode = 1;
} finally {
  // Chromium writes its profile until it exits: wait for that (10 s at most) before removing the folder.
  const exited = new Promise((resolve) => {
    if (browser.exitCode !== null || browser.signalCode !== null) resolve(undefined);
    browser.once('exit', resolve);
    setTimeout(resolve, 10_000).unref();
  });
  browser.kill();
  await exited;
  rmSync(work, { recursive: true, force: true, maxRetries: 3 });
}
