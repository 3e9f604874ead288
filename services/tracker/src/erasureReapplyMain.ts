/**
 * The process of `pnpm erasures:reapply <embedded|postgres>` (root package.json): see erasureReapply.ts,
 * and docs/security.md §7 for the restore procedure around it. Progress to stdout, problems to stderr.
 */
import { runErasureReapply } from './erasureReapply.ts';

const print = (stream: NodeJS.WriteStream) => (line: string) => void stream.write(`${line}\n`);

process.exitCode = await runErasureReapply(process.argv.slice(2), process.env, { out: print(process.stdout), err: print(process.stderr) });
