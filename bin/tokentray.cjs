#!/usr/bin/env node
// Entry point of the `tokentray` command (npm install builds what it loads into dist/).
// CommonJS on purpose: the commands local tools run on every use (token, git-credential,
// kube-credential) load one bundled CommonJS file and never start the ES module loader; the
// rest of the CLI is ES modules. The compile cache keeps V8's compiled code between runs.
'use strict';
require('node:module').enableCompileCache?.();

const argv = process.argv.slice(2);
const tools = require('../dist/cli/tool-commands.cjs');
const exit = (code) => { process.exitCode = code; };
if (tools.isToolCommand(argv[0])) tools.runToolCommand(argv).then(exit);
else import('../dist/main/cli/main.js').then(({ main }) => main(argv)).then(exit);
