#!/usr/bin/env node
// Entry point of the `tokentray` command: the compiled CLI (npm install builds it).
import { main } from '../dist/main/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
