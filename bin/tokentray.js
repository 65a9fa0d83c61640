#!/usr/bin/env node
// Entry point of the `tokentray` command: the compiled CLI (npm install builds it).
// The compile cache keeps V8's compiled code between runs: `tokentray token` is called often.
import module from 'node:module';

module.enableCompileCache?.();
const { main } = await import('../dist/main/cli/main.js');
process.exitCode = await main(process.argv.slice(2));
