/**
 * What a service's start opened, closed again in reverse order (the last opened first: the HTTP server
 * before the stores it reads), once, however often it is asked: by a start that fails half-way, and by
 * `close()`. A step that fails does not keep the others from running.
 */
export class Teardown {
  readonly #steps: (() => unknown)[] = [];
  #run: Promise<void> | undefined;

  add(step: () => unknown): void {
    this.#steps.push(step);
  }

  /** Runs every step, last added first; later calls wait for the same run. */
  run(): Promise<void> {
    this.#run ??= (async () => {
      for (const step of [...this.#steps].reverse()) {
        try {
          await step();
        } catch {
          // Closing what is left matters more than this step's error.
        }
      }
    })();
    return this.#run;
  }
}
