/**
 * Bundles the embedded tracker into dist/main.mjs for deployment: one file plus the assets the code
 * reads beside itself at run time (GraphQL SDL, the demo units, default policies). Native modules
 * (better-sqlite3) stay external and are installed with the service.
 */
import { build } from 'esbuild';
import { cpSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const service = dirname(dirname(fileURLToPath(import.meta.url)));
const root = join(service, '..', '..');
const dist = join(service, 'dist');

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });

await build({
  entryPoints: [join(service, 'src', 'main.ts')],
  outfile: join(dist, 'main.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  external: ['better-sqlite3'],
  // CommonJS dependencies inside an ESM bundle still call require().
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  logLevel: 'warning',
});

// Modules read their assets with new URL('./asset', import.meta.url): in the bundle that is dist/.
const packages = join(root, 'packages');
const assets = readdirSync(packages, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.split('/')[1] === 'src' && /\.(graphql|json)$/.test(f) && !f.includes('node_modules'))
  .map((f) => join('packages', f));
const names = new Set<string>();
for (const asset of assets) {
  if (names.has(basename(asset))) throw new Error(`two assets are named ${basename(asset)}; rename one`);
  names.add(basename(asset));
  cpSync(join(root, asset), join(dist, basename(asset)));
}
console.log(`built ${join('services', 'tracker', 'dist', 'main.mjs')} with ${assets.length} assets`);
