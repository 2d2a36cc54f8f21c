/**
 * Runs the CLI from wherever it was compiled (dist/ or a developer's build folder): the test helper
 * starts `node <build root>/src/main/cli-entry.js`, which bin/asrestore.js cannot do (it is fixed to
 * dist/).
 */
import { main } from './cli.js';

await main(process.argv.slice(2));
