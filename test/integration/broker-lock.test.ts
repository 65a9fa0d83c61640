import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { myIdentity } from '../../main/core/daemon/broker-lock.ts';

const CONTENDER = join(process.cwd(), 'test', 'fixtures', 'lock-contender.ts');

/** Starts `n` processes that try to take the lock at the same moment; returns what each said. */
async function contend(home: string, n: number): Promise<string[]> {
  const at = Date.now() + 700;
  const children = Array.from({ length: n }, () => {
    const child = spawn(process.execPath, [CONTENDER, home, String(at)], { stdio: ['pipe', 'pipe', 'inherit'] });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    const answer = new Promise<string>((resolve) => {
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk;
        if (out.includes('\n')) resolve(out.trim());
      });
      void exited.then(() => resolve(out.trim()));
    });
    return { child, exited, answer };
  });
  // Every winner holds its lock until all have answered, so a late starter cannot win after it.
  const answers = await Promise.all(children.map((c) => c.answer));
  for (const c of children) c.child.stdin.end();
  await Promise.all(children.map((c) => c.exited));
  return answers;
}

describe('the broker lock under contention', () => {
  for (const stale of [false, true]) {
    test(`brokers starting at the same moment${stale ? ' on a stale lock' : ''}: exactly one takes the lock`, async () => {
      for (let round = 0; round < 8; round++) {
        const home = await mkdtemp(join(tmpdir(), 'tt-lock-'));
        if (stale) await writeFile(join(home, 'broker.lock'), `${JSON.stringify({ pid: 2 ** 22 + 1 })}\n`); // no such pid
        const answers = await contend(home, 6);
        assert.equal(answers.filter((a) => a === 'ok').length, 1, `round ${round}: ${answers.join(', ')}`);
        assert.deepEqual(answers.filter((a) => a !== 'ok'), Array(5).fill('broker_running'));
        assert.deepEqual(await readdir(home), [], 'the lock and every temporary file are gone after release');
      }
    });
  }
});

describe('a lock whose pid now belongs to another process', () => {
  test('a live pid from another boot, or started at another time, is not a running broker; the real one is', async (t) => {
    if (process.platform !== 'linux') {
      t.skip('boot ids and start times come from /proc (Linux)');
      return;
    }
    const me = myIdentity();
    assert.ok(me.boot && me.start, 'this machine reports both');
    // The pid is live (this test process), but the lock was written before a reboot...
    for (const lock of [{ ...me, boot: '00000000-0000-0000-0000-000000000000' }, { ...me, start: String(Number(me.start) + 1) }]) {
      const home = await mkdtemp(join(tmpdir(), 'tt-lock-reused-'));
      await writeFile(join(home, 'broker.lock'), `${JSON.stringify(lock)}\n`);
      assert.deepEqual(await contend(home, 1), ['ok'], `taken over: ${JSON.stringify(lock)}`);
    }
    // ...while the live process that did write it still holds it.
    const held = await mkdtemp(join(tmpdir(), 'tt-lock-held-'));
    await writeFile(join(held, 'broker.lock'), `${JSON.stringify(me)}\n`);
    assert.deepEqual(await contend(held, 1), ['broker_running']);
    // A lock from an older version (a pid only) keeps the pid check.
    await writeFile(join(held, 'broker.lock'), `${JSON.stringify({ pid: me.pid })}\n`);
    assert.deepEqual(await contend(held, 1), ['broker_running']);
  });
});
