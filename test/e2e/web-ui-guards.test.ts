// Web mode's guards, probed with real curl: the cookie only on /ui/api, the key only on /v1.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { curl, startDaemon, tokentray, type CurlResult, type Daemon } from '../fixtures/daemon.ts';
import { windowLink } from '../fixtures/web-window.ts';

describe('web mode guards', () => {
  let daemon: Daemon;
  let cookie: string;
  const seen: CurlResult[] = [];
  const req = async (args: string[]) => {
    const r = await curl(args);
    seen.push(r);
    return r;
  };
  const code = (r: CurlResult) => (r.json as { error?: { code: string } } | null)?.error?.code;
  const ui = (call: string, headers: string[] = ['-H', 'X-Tokentray-UI: 1']) => ['-X', 'POST', ...headers, `${daemon.url}/ui/api/${call}`];

  before(async () => {
    daemon = await startDaemon();
    const login = await req([await windowLink(daemon)]);
    assert.equal(login.status, 303);
    assert.equal(login.headers['location'], '/');
    const set = login.headers['set-cookie']!;
    assert.match(set, /^tokentray_session_\d+=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\/$/);
    cookie = set.split(';')[0]!;
  });
  after(async () => daemon?.cleanup());

  test('/ serves the window with a strict CSP, and no inline script', async () => {
    const page = await req([`${daemon.url}/`]);
    assert.equal(page.status, 200);
    assert.match(page.headers['content-security-policy']!, /default-src 'self'; script-src 'self'/);
    assert.doesNotMatch(page.headers['content-security-policy']!, /unsafe-inline|unsafe-eval/);
    assert.equal(page.headers['cache-control'], 'no-store');
    assert.doesNotMatch(page.body, /<script(?![^>]*\bsrc=)[^>]*>/, 'every script is a file');
    const script = /src="\.(\/assets\/[^"]+\.js)"/.exec(page.body)![1]!;
    assert.equal((await req([`${daemon.url}${script}`])).status, 200);
    assert.equal((await req([`${daemon.url}/../package.json`, '--path-as-is'])).status, 404);
    assert.equal((await req([`${daemon.url}/assets/..%2f..%2fpackage.json`])).status, 404);
  });

  test('a login token works once only; a used one gets a page that says what to do', async () => {
    const link = await windowLink(daemon);
    assert.equal((await req([link])).status, 303);
    const again = await req([link]);
    assert.equal(again.status, 401);
    assert.match(again.body, /tokentray open/);
    assert.equal(again.headers['set-cookie'], undefined);
    assert.equal((await req([`${daemon.url}/ui/login?t=guess`])).status, 401);
  });

  test('/ui/api/*: the cookie, the header and our own Origin, or nothing', async () => {
    const ok = await req(ui('overview', ['-H', 'X-Tokentray-UI: 1', '-H', `Cookie: ${cookie}`]));
    assert.equal(ok.status, 200, ok.body);
    assert.equal((ok.json as { locked: boolean }).locked, false);
    const own = await req(ui('overview', ['-H', 'X-Tokentray-UI: 1', '-H', `Cookie: ${cookie}`, '-H', `Origin: ${daemon.url}`]));
    assert.equal(own.status, 200);
    const noCookie = await req(ui('overview'));
    assert.equal(noCookie.status, 401);
    assert.equal(code(noCookie), 'unauthorized');
    const foreign = await req(ui('overview', ['-H', 'X-Tokentray-UI: 1', '-H', `Cookie: ${cookie}`, '-H', 'Origin: http://evil.example']));
    assert.equal(foreign.status, 403);
    assert.equal(code(foreign), 'forbidden_origin');
    const otherPort = await req(ui('overview', ['-H', 'X-Tokentray-UI: 1', '-H', `Cookie: ${cookie}`, '-H', 'Origin: http://127.0.0.1:1']));
    assert.equal(otherPort.status, 403);
    const noHeader = await req(ui('overview', ['-H', `Cookie: ${cookie}`]));
    assert.equal(noHeader.status, 403);
    assert.equal(code(noHeader), 'forbidden_origin');
    const crossSite = await req(ui('overview', ['-H', 'X-Tokentray-UI: 1', '-H', `Cookie: ${cookie}`, '-H', 'Sec-Fetch-Site: cross-site']));
    assert.equal(crossSite.status, 403);
    const bearer = await req(ui('overview', ['-H', 'X-Tokentray-UI: 1', '-H', `Authorization: Bearer ${daemon.key}`]));
    assert.equal(bearer.status, 401, 'the owner key is refused on /ui/api');
    const both = await req(ui('overview', ['-H', 'X-Tokentray-UI: 1', '-H', `Cookie: ${cookie}`, '-H', `Authorization: Bearer ${daemon.key}`]));
    assert.equal(both.status, 401);
    const unknown = await req(ui('dropTables', ['-H', 'X-Tokentray-UI: 1', '-H', `Cookie: ${cookie}`]));
    assert.equal(unknown.status, 404);
    const badInput = await req([...ui('getAccount', ['-H', 'X-Tokentray-UI: 1', '-H', `Cookie: ${cookie}`, '-H', 'Content-Type: application/json']), '--data-binary', '{"id":"../../etc"}']);
    assert.equal(badInput.status, 400);
    assert.equal(code(badInput), 'bad_request');
  });

  test('the cookie is refused on /v1; the key is still needed there', async () => {
    const r = await req(['-H', `Cookie: ${cookie}`, `${daemon.url}/v1/accounts`]);
    assert.equal(r.status, 401);
    assert.equal((await req(['-H', `Cookie: ${cookie}`, '-H', `Origin: ${daemon.url}`, `${daemon.url}/v1/accounts`])).status, 403, 'the window origin is no pass on /v1');
  });

  test('no answer ever carries an Access-Control header', () => {
    assert.ok(seen.length > 15);
    for (const r of seen) assert.deepEqual(Object.keys(r.headers).filter((h) => h.startsWith('access-control-')), []);
  });

  test('the session ends when the broker stops', async () => {
    await daemon.stop();
    assert.equal((await tokentray(daemon.env, ['open', '--no-browser'])).code, 3, 'no broker runs');
    const restarted = await startDaemon({ home: daemon.home, service: daemon.service });
    try {
      const port = restarted.port;
      const r = await curl(['-X', 'POST', '-H', 'X-Tokentray-UI: 1', '-H', `Cookie: ${cookie.replace(/_\d+=/, `_${port}=`)}`, `${restarted.url}/ui/api/overview`]);
      assert.equal(r.status, 401);
      assert.equal((await tokentray(restarted.env, ['open', '--no-browser', '--json'])).code, 0);
    } finally {
      await restarted.cleanup();
    }
  });
});
