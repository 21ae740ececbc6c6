// What a story gets from the runner (scripts/e2e.mjs owns code-server, chromium and cleanup).
import type { Page } from './page';

export interface E2eContext {
  page: Page;
  /** Process group (and pid) of the code-server server: the extension hosts are in it. */
  serverPgid: number;
  /** Workbench URL for the test workspace. */
  workbenchUrl: string;
  userDataDir: string;
  /** The repository the run is from (its test fixtures, e.g. the fake hermes gateway). */
  repoRoot: string;
  /** Where screenshots and logs of this run go. */
  artifacts: string;
  log(message: string): void;
  /** A pid the story started itself: SIGKILLed at the end of the run, whatever happens. */
  track(pid: number): void;
  /** A host whose marked processes the runner sweeps (and reports as leaks) at the end. */
  noteHost(marker: string): void;
  /** Saves a full-page screenshot as <artifacts>/<name>.png and returns its path. */
  screenshot(name: string): Promise<string>;
  /** Merges `patch` into the user (and machine) settings.json of the running code-server. */
  updateSettings(patch: Record<string, unknown>): void;
  /** Facts one story leaves for the next (stories run in order, in one window). */
  shared: Record<string, number | string | undefined>;
}

export interface Story {
  /** Short id used by GW_E2E_STORIES=id,id. */
  id: string;
  /** The story as the issue words it. */
  title: string;
  run(ctx: E2eContext): Promise<void>;
}
