import { describe, expect, it } from 'vitest';
import { Teardown } from './teardown.ts';

describe('Teardown', () => {
  it('closes the last opened first, each step once however often it is run, past a step that fails', async () => {
    const closed: string[] = [];
    const teardown = new Teardown();
    teardown.add(() => closed.push('pool'));
    teardown.add(async () => {
      closed.push('store');
      throw new Error('already gone');
    });
    teardown.add(async () => closed.push('server'));
    await Promise.all([teardown.run(), teardown.run()]);
    await teardown.run();
    expect(closed).toEqual(['server', 'store', 'pool']);
  });
});
