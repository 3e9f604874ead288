/**
 * The process of `pnpm kek:rotate <embedded|postgres>` (root package.json): see kekRotation.ts, and
 * docs/security.md §7 for the procedure around it. Progress to stdout, problems to stderr.
 */
import { runKekRotation } from './kekRotation.ts';

const print = (stream: NodeJS.WriteStream) => (line: string) => void stream.write(`${line}\n`);

process.exitCode = await runKekRotation(process.argv.slice(2), process.env, { out: print(process.stdout), err: print(process.stderr) });
