import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { existsSync, readdirSync } from 'node:fs';
import { ESLint } from 'eslint';

// The real lint configuration, run on code placed (virtually) in each layer.
const eslint = new ESLint({ cwd: process.cwd() });

async function lint(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).map((m) => `${m.ruleId}: ${m.message}`);
}

describe('layering lint', () => {
  test('an electron import in main/core fails the lint', async () => {
    const messages = await lint('main/core/oops.ts', "import { app } from 'electron';\nexport const name = app.getName();\n");
    assert.ok(messages.some((m) => m.startsWith('no-restricted-imports') && m.includes('main/electron')), messages.join('\n'));
  });

  test('an electron import in main/cli, shared or renderer fails; in main/electron it passes', async () => {
    const code = "import { shell } from 'electron';\nexport const open = shell.openExternal;\n";
    for (const file of ['main/cli/x.ts', 'shared/x.ts', 'renderer/x.ts']) {
      assert.ok((await lint(file, code)).some((m) => m.startsWith('no-restricted-imports')), file);
    }
    assert.deepEqual(await lint('main/electron/x.ts', code), []);
  });

  test('node: built-ins are refused in shared/ and renderer/, allowed in main/core', async () => {
    const code = "import { readFile } from 'node:fs/promises';\nexport const read = readFile;\n";
    assert.ok((await lint('shared/x.ts', code)).some((m) => m.includes('no node: built-ins')));
    assert.ok((await lint('renderer/x.ts', code)).some((m) => m.includes('no node: built-ins')));
    assert.deepEqual(await lint('main/core/x.ts', code), []);
  });

  test('renderer/ may not import main/, and shared/ may not import main/ or renderer/', async () => {
    assert.ok((await lint('renderer/x.ts', "import { Vault } from '../main/core/vault/vault.ts';\nexport type V = Vault;\n")).some((m) => m.includes('BrokerApi')));
    assert.ok((await lint('shared/x.ts', "import { Vault } from '../main/core/vault/vault.ts';\nexport type V = Vault;\n")).some((m) => m.includes('pure TypeScript')));
  });

  test('main/core reads the clock and the network only through options: Date.now(), new Date() and the global fetch fail the lint', async () => {
    for (const code of ['export const t = Date.now();\n', 'export const t = new Date();\n', "export const r = fetch('http://127.0.0.1/');\n"]) {
      assert.ok((await lint('main/core/x.ts', code)).some((m) => m.includes('main/core/clock.ts')), code);
    }
    assert.deepEqual(await lint('main/core/x.ts', "export const t = new Date('2030-01-01');\n"), [], 'a given date is no clock');
    assert.deepEqual(await lint('main/core/clock.ts', 'export const t = Date.now();\n'), []);
  });

  test('the whole tree passes the lint', async () => {
    const results = await eslint.lintFiles(['shared', 'main', 'renderer', 'test', 'bench', 'scripts'].filter((dir) => existsSync(dir) && readdirSync(dir).length > 0));
    const problems = results.flatMap((r) => r.messages.map((m) => `${r.filePath}:${m.line} ${m.ruleId}: ${m.message}`));
    assert.deepEqual(problems, []);
  });
});
