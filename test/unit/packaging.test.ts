// electron-builder.yml is checked against electron-builder's own configuration schema, so a
// wrong key fails here although no package can be built on this machine.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { Ajv } from 'ajv';
import { load } from 'js-yaml';

const require = createRequire(import.meta.url);
const config = load(readFileSync('electron-builder.yml', 'utf8')) as Record<string, unknown> & { electronFuses: Record<string, boolean>; linux: { target: string[] }; mac: { target: string[] }; win: { target: string[] }; files: string[] };

test('electron-builder.yml is valid against app-builder-lib/scheme.json', () => {
  const schema = JSON.parse(readFileSync(require.resolve('app-builder-lib/scheme.json'), 'utf8')) as object;
  const ajv = new Ajv({ allErrors: true, strict: false });
  const validate = ajv.compile(schema);
  const valid = validate(config);
  assert.equal(valid, true, JSON.stringify(validate.errors, null, 2));
  const misspelt = { ...config, electronFusez: {} };
  assert.equal(validate(misspelt), false, 'the schema refuses an unknown key');
});

test('the packaged app: every target, the fuses of REQUIREMENTS 24, ASAR integrity', () => {
  assert.deepEqual(config.linux.target, ['AppImage', 'deb']);
  assert.deepEqual(config.mac.target, ['dmg']);
  assert.deepEqual(config.win.target, ['nsis']);
  assert.equal(config['asar'], true);
  const fuses = config.electronFuses;
  assert.equal(fuses['runAsNode'], false);
  assert.equal(fuses['enableNodeOptionsEnvironmentVariable'], false);
  assert.equal(fuses['enableNodeCliInspectArguments'], false);
  assert.equal(fuses['enableEmbeddedAsarIntegrityValidation'], true);
  assert.equal(fuses['onlyLoadAppFromAsar'], true);
  assert.ok(config.files.some((f) => f.startsWith('dist/')), 'the built app and window are packaged');
  assert.ok(config.files.some((f) => f.startsWith('assets/')), 'the tray icons are packaged');
});
