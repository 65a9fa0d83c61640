// `npm test`: runs every test file with Node's test runner against a real Secret Service.
// When this shell has no Secret Service (a fresh box, an SSH session), it starts a private
// D-Bus session with an unlocked gnome-keyring for the run, so the suite never touches (or
// prompts for) the person's own keyring, and prints the closing "N passed, N failed" line.
import { spawn, spawnSync } from 'node:child_process';
import { globSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// `node scripts/test.ts --bench [args]` runs the benchmarks (bench/run.ts), and `--soak [args]`
// the soak (bench/soak.ts), in the same kind of private Secret Service session instead of the tests.
const bench = process.argv[2] === '--bench' || process.argv[2] === '--soak';
// `--faults` (npm run test:faults) runs the fault suite alone, the same way npm test does.
const faultsOnly = process.argv[2] === '--faults';
const files = bench || faultsOnly ? [] : process.argv.slice(2);
// The fault suite (crashes, keychain outages, strange providers) runs after the rest, two
// files at a time as `npm run test:faults` does; timing tests and the keychain-load test (2,000
// writes and 3,000 refreshes on a keyring of its own, which starves every keychain call beside
// it of CPU past the 1.5 s keychain deadline) run last, one file at a time, on a quiet machine.
// The endpoint-abuse siege is a timing test too (the tool answered in < 50 ms while the broker
// and the attackers fill both cores): beside another fault file its tool waited for a CPU, not
// for the broker (p90 ≥ 50 ms in CI at 8e55fa9; 8-25 ms alone).
const ALONE = ['test/integration/keychain-connections.test.ts', 'test/faults/endpoint-abuse.test.ts'];
const group = (patterns: string[]) => patterns.flatMap((pattern) => globSync(pattern)).filter((file) => !ALONE.includes(file)).sort();
const together = group(['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts']);
const faults = group(['test/faults/**/*.test.ts']);
const runs = files.length > 0 ? [files]
  : faultsOnly ? [faults, ALONE.filter((file) => file.startsWith('test/faults/'))]
    : [together, faults, ['test/perf/**/*.test.ts', ...ALONE]];

function secretServiceAnswers(): boolean {
  if (!process.env['DBUS_SESSION_BUS_ADDRESS']) return false;
  const ping = spawnSync('dbus-send', ['--session', '--print-reply', '--reply-timeout=2000', '--dest=org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus.NameHasOwner', 'string:org.freedesktop.secrets'], { encoding: 'utf8', timeout: 3000 });
  return ping.status === 0 && /boolean true/.test(ping.stdout);
}

const env: NodeJS.ProcessEnv = { ...process.env };
delete env['DISPLAY']; // with a display a locked keyring opens a prompt and the run hangs
env['TOKENTRAY_KEYCHAIN_SERVICE'] ??= `tokentray-test-${process.pid}`;
env['TOKENTRAY_HOME'] ??= mkdtempSync(join(tmpdir(), 'tokentray-test-home-'));

const summaryDir = mkdtempSync(join(tmpdir(), 'tokentray-test-summary-'));
env['TOKENTRAY_TEST_SUMMARY_DIR'] = summaryDir;
const runner = bench ? [process.execPath, process.argv[2] === '--soak' ? 'bench/soak.ts' : 'bench/run.ts', ...process.argv.slice(3)] : [process.execPath, 'scripts/test-runs.ts', JSON.stringify(runs)];

let command = runner;
if (process.platform === 'linux' && !secretServiceAnswers() && !process.env['TOKENTRAY_TEST_SESSION']) {
  const hasTools = ['dbus-run-session', 'gnome-keyring-daemon'].every((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0);
  if (!hasTools) {
    console.error('npm test needs a Secret Service: install gnome-keyring, dbus and libsecret-tools (see README), or run it inside a desktop session.');
    process.exit(1);
  }
  env['XDG_DATA_HOME'] = mkdtempSync(join(tmpdir(), 'tokentray-test-keyring-'));
  env['TOKENTRAY_TEST_SESSION'] = '1';
  console.log('No Secret Service here: starting a private D-Bus session with an unlocked gnome-keyring for the tests.');
  command = ['dbus-run-session', '--config-file=scripts/dbus-session.conf', '--', 'bash', 'scripts/with-keyring.sh', ...runner];
}

const child = spawn(command[0]!, command.slice(1), { stdio: 'inherit', env });
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
