import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { tokentray as run } from '../fixtures/daemon.ts';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };

const tokentray = (...args: string[]) => run(process.env, args);

describe('the tokentray command', () => {
  test('--version prints the package version', async () => {
    const { code, stdout } = await tokentray('--version');
    assert.equal(code, 0);
    assert.equal(stdout, `${pkg.version}\n`);
  });

  test('--help lists usage, environment and exit codes', async () => {
    const { code, stdout } = await tokentray('--help');
    assert.equal(code, 0);
    assert.match(stdout, /Usage: tokentray <command>/);
    assert.match(stdout, /TOKENTRAY_HOME/);
    assert.match(stdout, /3 broker not running/);
  });

  test('an unknown command is a usage error (exit 2) on stderr', async () => {
    const { code, stdout, stderr } = await tokentray('frobnicate');
    assert.equal(code, 2);
    assert.equal(stdout, '');
    assert.match(stderr, /unknown command "frobnicate"/);
  });
});
