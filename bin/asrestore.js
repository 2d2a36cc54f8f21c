#!/usr/bin/env node
// Thin launcher: the CLI is built into dist/bundle/ by `npm run build` (scripts/bundle.ts).
import('../dist/bundle/main/cli.js').then((m) => m.main(process.argv.slice(2)));
