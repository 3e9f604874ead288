/** The deployable bundle (pnpm build) starts, answers, and stops cleanly on SIGTERM. */
import { describe, expect, it } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const service = new URL('..', import.meta.url).pathname;
const tsx = join(service, 'node_modules', '.bin', 'tsx');

describe('the built tracker', () => {
  it('starts from dist/main.mjs, answers GraphQL and exits 0 on SIGTERM', async () => {
    await promisify(execFile)(tsx, [join(service, 'scripts', 'build.ts')]);
    const dataDir = mkdtempSync(join(tmpdir(), 'tracker-bundle-'));
    const child = spawn(process.execPath, [join(service, 'dist', 'main.mjs')], {
      env: { ...process.env, DATA_DIR: dataDir, PORT: '0', DEMO_CITIZENS: '10', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const match = /GraphQL:\s+(http:\/\/\S+)\/graphql/.exec(out);
          if (match) resolve(match[1]!);
        });
        child.once('exit', (code) => reject(new Error(`exited with ${code} before it was ready`)));
      });
      const response = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ handovers(first: 1) { totalCount } }' }),
      });
      expect(response.status).toBe(200);
      expect(((await response.json()) as { data: { handovers: { totalCount: number } } }).data.handovers.totalCount).toBeGreaterThanOrEqual(0);

      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
