// The demo web app (examples-c/server_demo.c, specified in examples-c/DEMO.md)
// driven by a real browser: Debian's Chromium, headless, through
// playwright-core (which downloads no browser of its own).
//
//   cd tests/browser && npm ci && node --test     (or, from the repo root,
//   node --test tests/browser/)
//
// Environment:
//   SERVER        demo (default): the C demo; apache: Apache httpd serving the
//                 same pages through hosts/apache/mod_sess (`make -C
//                 hosts/apache`, the configuration hosts/apache/conf.sh writes)
//   DEMO_BIN      a built server_demo; unset: `make -C examples-c build/server_demo`
//   CHROMIUM_PATH the browser (default /usr/bin/chromium)
//
// The server runs on a free 127.0.0.1 port and is killed when the tests end,
// pass or fail. A full-page screenshot of /page2 goes to
// test-artifacts/browser-page2.png (browser-page2-apache.png) at the
// repository root.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const ARTIFACTS = path.join(ROOT, 'test-artifacts');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const SERVER = process.env.SERVER || 'demo';
const STARTUP_MS = 10_000;
const STEP_MS = 10_000;
const TEST_MS = 60_000;
/** The longest the server may live, whatever happens to this process. */
const MAX_LIFETIME_S = 900;

let server; // the child process
const serverDirs = []; // Apache's generated configurations, removed at the end
let apacheLog; // Apache's error log, shown when it fails
let serverOutput = '';
let base; // http://127.0.0.1:<port>
let browser;

function demoBinary() {
  if (process.env.DEMO_BIN) {
    assert.ok(fs.existsSync(process.env.DEMO_BIN), `DEMO_BIN=${process.env.DEMO_BIN} does not exist`);
    return path.resolve(process.env.DEMO_BIN);
  }
  // Builds the release libsess.a first (cargo decides whether it must).
  // Its output goes to stderr: the test runner reads this process's stdout.
  execFileSync('make', ['-C', 'examples-c', 'build/server_demo'], {
    cwd: ROOT,
    stdio: ['ignore', 2, 2],
    timeout: 15 * 60_000,
  });
  return path.join(ROOT, 'examples-c', 'build', 'server_demo');
}

/** hosts/apache/mod_sess.so, built against the release libsess.a. */
function apacheModule() {
  execFileSync('make', ['-C', 'hosts/apache'], {
    cwd: ROOT,
    stdio: ['ignore', 2, 2],
    timeout: 15 * 60_000,
  });
  return path.join(ROOT, 'hosts', 'apache', 'build', 'mod_sess.so');
}

/** The command running the server on `port`: [program, args]. */
function serverCommand(port) {
  if (SERVER === 'demo') return [demoBinary(), []];
  assert.equal(SERVER, 'apache', `SERVER=${SERVER}: demo or apache`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'libsess-apache-'));
  serverDirs.push(dir);
  apacheLog = path.join(dir, 'error.log');
  execFileSync(path.join(ROOT, 'hosts', 'apache', 'conf.sh'), [dir, String(port), apacheModule()], {
    env: { ...process.env, SESS_STORE: '' }, // its error log: <dir>/error.log
    stdio: ['ignore', 2, 2],
  });
  return ['apache2', ['-f', path.join(dir, 'httpd.conf'), '-DFOREGROUND']];
}

async function freePort() {
  const probe = net.createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address();
  probe.close();
  await once(probe, 'close');
  return port;
}

/** Resolves once `port` answers GET /stats with 200 (Apache prints nothing when ready). */
async function answering(port) {
  for (const end = Date.now() + STARTUP_MS; Date.now() < end;) {
    try {
      const resp = await fetch(`http://127.0.0.1:${port}/stats`);
      if (resp.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Starts the server; resolves once it prints `listening on` (the demo) or
 * answers (Apache). It runs in its own process group under coreutils'
 * `timeout`, so stopServer() ends them all at once (Apache's children too),
 * and a server whose test process was killed outright still dies within
 * MAX_LIFETIME_S.
 */
async function startServer([bin, args], port) {
  const child = spawn('timeout', ['--signal=KILL', String(MAX_LIFETIME_S), bin, ...args], {
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  server = child;
  child.stderr.on('data', (d) => { serverOutput += d; });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`not ready within ${STARTUP_MS} ms; output:\n${serverOutput}`)),
      STARTUP_MS,
    );
    if (SERVER !== 'demo') answering(port).then(() => { clearTimeout(timer); resolve(); });
    child.stdout.on('data', (d) => {
      serverOutput += d;
      if (serverOutput.includes('listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code ?? signal}) before listening; output:\n${serverOutput}`));
    });
  });
}

function stopServer() {
  if (server && server.exitCode === null && server.signalCode === null) {
    try {
      process.kill(-server.pid, 'SIGKILL'); // the whole group: timeout and the server
    } catch {
      // already gone
    }
  }
  for (const dir of serverDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

// Never leave the server behind, whatever ends this process.
process.on('exit', stopServer);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, () => {
    stopServer();
    process.exit(128 + os.constants.signals[signal]);
  });
}

before(async () => {
  // A few tries, in case another process takes the free port first.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      await startServer(serverCommand(port), port);
      base = `http://127.0.0.1:${port}`;
      break;
    } catch (e) {
      if (apacheLog && fs.existsSync(apacheLog)) e.message += `\nerror log:\n${fs.readFileSync(apacheLog, 'utf8')}`;
      stopServer();
      if (attempt === 3) throw e;
      serverOutput = '';
    }
  }
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    timeout: 30_000,
  });
}, { timeout: 20 * 60_000 });

after(async () => {
  try {
    if (browser) await browser.close();
  } finally {
    stopServer();
  }
});

async function newPage(context) {
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_MS);
  page.setDefaultNavigationTimeout(STEP_MS);
  return page;
}

/** Opens `route` and checks the answer was 200. */
async function open(page, route) {
  const resp = await page.goto(base + route);
  assert.ok(resp, `no response for ${route}`);
  assert.equal(resp.status(), 200, `${route}: status ${resp.status()}\n${await page.content()}`);
  return resp;
}

async function bodyText(page) {
  return page.locator('body').innerText();
}

/** `count=<N>` on the page. */
async function count(page) {
  const text = await bodyText(page);
  const m = /(?:^|[^\w])count=(\d+)/.exec(text);
  assert.ok(m, `no count=<N> on ${page.url()}:\n${text}`);
  return Number(m[1]);
}

async function sessionCookie(context) {
  const cookies = await context.cookies(base);
  return cookies.find((c) => c.name === 'ASPSESSIONID');
}

/** A fresh browser context (its own cookies), closed after `fn`. */
async function withContext(fn) {
  const context = await browser.newContext();
  try {
    return await fn(context);
  } finally {
    await context.close();
  }
}

test('page1 redirects to page2, which shows the three values', { timeout: TEST_MS }, async () => {
  await withContext(async (context) => {
    const page = await newPage(context);
    const resp = await page.goto(`${base}/page1`);
    assert.equal(resp.status(), 200);
    assert.equal(new URL(page.url()).pathname, '/page2', 'the redirect from /page1');
    const redirect = await resp.request().redirectedFrom()?.response();
    assert.equal(redirect?.status(), 302, '/page1 answers 302');

    // The screenshot first: it shows what went wrong if a check fails.
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const shot = SERVER === 'demo' ? 'browser-page2.png' : `browser-page2-${SERVER}.png`;
    await page.screenshot({ path: path.join(ARTIFACTS, shot), fullPage: true });

    const text = await bodyText(page);
    assert.match(text, /There are 3 items in the Session's Contents collection\./);
    // One <li> per item (the navigation's <li>s hold links).
    assert.deepEqual(
      await page.locator('li:not(:has(a))').allInnerTexts(),
      ['SessionVar1 = Session Variable 1', 'SessionVar2 = Session Variable 2', 'SessionVar3 = Session Variable 3'],
    );
    assert.ok(
      text.includes('First three by index: Session Variable 1 | Session Variable 2 | Session Variable 3'),
      text,
    );
  });
});

test('the counter survives reloads, with an HttpOnly Lax cookie', { timeout: TEST_MS }, async () => {
  await withContext(async (context) => {
    const page = await newPage(context);
    await open(page, '/');
    assert.match(await bodyText(page), /SessionID: \(none\)/);
    assert.equal(await sessionCookie(context), undefined, '/ alone set a cookie');

    // The home page links to the counter.
    await Promise.all([page.waitForURL(`${base}/counter`), page.locator('a[href="/counter"]').first().click()]);
    assert.equal(await count(page), 1);
    for (const expected of [2, 3]) {
      const resp = await page.reload();
      assert.equal(resp.status(), 200);
      assert.equal(await count(page), expected, 'after a reload');
    }

    const cookie = await sessionCookie(context);
    assert.ok(cookie, 'no ASPSESSIONID cookie');
    assert.match(cookie.value, /^[A-Za-z0-9_-]{22}$/);
    assert.equal(cookie.path, '/');
    assert.equal(cookie.httpOnly, true, 'HttpOnly');
    assert.equal(cookie.sameSite, 'Lax');
    assert.equal(cookie.secure, false, 'Secure over plain http');
    assert.equal(cookie.expires, -1, 'a browser-session cookie');
    assert.equal(await page.evaluate(() => document.cookie), '', 'HttpOnly hides it from scripts');
  });
});

test('abandon resets the counter under a new session', { timeout: TEST_MS }, async () => {
  await withContext(async (context) => {
    const page = await newPage(context);
    await open(page, '/counter');
    await open(page, '/counter');
    assert.equal(await count(page), 2);
    const old = await sessionCookie(context);
    assert.ok(old, 'no cookie before /abandon');

    await open(page, '/abandon');
    const text = await bodyText(page);
    assert.match(text, /count=2/, 'Abandon still shows the value');
    assert.match(text, /abandoned/);
    assert.equal(await sessionCookie(context), undefined, '/abandon did not delete the cookie');

    await open(page, '/counter');
    assert.equal(await count(page), 1, 'the count after /abandon');
    const fresh = await sessionCookie(context);
    assert.ok(fresh, 'no new cookie after /abandon');
    assert.notEqual(fresh.value, old.value, 'the abandoned ID came back');
  });
});

test('two browser contexts have separate sessions', { timeout: TEST_MS }, async () => {
  await withContext((a) => withContext(async (b) => {
    const pa = await newPage(a);
    const pb = await newPage(b);
    const visit = async (page) => { await open(page, '/counter'); return count(page); };
    assert.equal(await visit(pa), 1, 'A first');
    assert.equal(await visit(pb), 1, 'B first: B shares A\'s session');
    assert.equal(await visit(pa), 2);
    assert.equal(await visit(pa), 3);
    assert.equal(await visit(pb), 2, 'B after A counted twice');
    const [ca, cb] = [await sessionCookie(a), await sessionCookie(b)];
    assert.ok(ca && cb, 'both contexts have a cookie');
    assert.notEqual(ca.value, cb.value, 'the two contexts got the same ID');
  }));
});
